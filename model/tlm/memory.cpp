// Memory timing (calendar of time buckets), the Memory target and the data sink.
#include "iommusim/tlm.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace ims {

Clock::Clock(std::uint32_t mhz) : m_recip(0), m_ctx(sc_core::sc_get_curr_simcontext())
{
    const double res_ps = sc_core::sc_get_time_resolution().to_seconds() * 1e12;
    m_period = static_cast<std::uint64_t>(std::llround(1e6 / static_cast<double>(mhz) / res_ps));
    if (m_period == 0)
        m_period = 1;
    if (m_period > 1)
        m_recip = static_cast<std::uint64_t>((static_cast<unsigned __int128>(1) << 64) / m_period);
    m_table.reserve(kTable);
    for (Cycles c = 0; c < kTable; c++)
        m_table.push_back(sc_core::sc_time::from_value(c * m_period));
}

namespace {
// Cycles per calendar bucket and the least number of buckets kept: the
// calendar spans at least 2^16 cycles and four times the longest latency,
// far more than any walk's distance ahead of the requests still arriving.
constexpr std::uint64_t kBucketCycles = 4;
constexpr std::size_t kMinBuckets = 1u << 14;
constexpr std::uint64_t kCoarseBuckets = 64;  // buckets per coarse bucket (256 cycles)
// Spans up to this many buckets (256 cycles) are counted bucket by bucket
// near the limit (cost bounded by kShortSpan^2 bucket reads at worst); longer
// ones count the list of accesses in flight, whose cost does not grow with
// the span.
constexpr std::uint64_t kShortSpan = 64;

std::uint64_t xorshift64(std::uint64_t &s)
{
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

std::size_t calendar_size(std::uint64_t back)
{
    std::size_t n = kMinBuckets;
    while (n < 4 * back)
        n *= 2;
    return n;
}
}  // namespace

MemTiming::MemTiming(const ims_sim_cfg &cfg)
    : m_latency(cfg.mem_latency),
      m_cache_latency(cfg.ptw_cache_latency),
      m_outstanding(cfg.mem_outstanding),
      m_capacity(cfg.mem_bytes_per_cycle * static_cast<std::uint32_t>(kBucketCycles)),
      m_span{std::max<std::uint64_t>(1, (cfg.mem_latency + kBucketCycles - 1) / kBucketCycles),
             std::max<std::uint64_t>(1, (cfg.ptw_cache_latency + kBucketCycles - 1) / kBucketCycles)},
      m_back(std::max(m_span[0], m_span[1])),
      m_long(m_back > kShortSpan),
      m_hit_prob(cfg.ptw_cache_hit),
      m_rng(cfg.seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull),
      m_cal(calendar_size(m_back)),
      m_coarse(m_cal.size() / kCoarseBuckets),
      m_cal_mask(m_cal.size() - 1),
      m_coarse_mask(m_coarse.size() - 1)
{
    if (m_rng == 0)
        m_rng = 1;
}

MemTiming::Bucket &MemTiming::slot(std::uint64_t b)
{
    Bucket &s = m_cal[b & m_cal_mask];
    if (s.index != b) {
        if (s.index != UINT64_MAX && s.index > b) {
            // Overrun: the slot already holds a bucket a whole calendar
            // ahead. Report it full, so the search moves on to later buckets.
            m_full = Bucket{b, UINT32_MAX, {0, 0}};
            return m_full;
        }
        // The slot held an older bucket (long past): recycle it.
        s = Bucket{b, 0, {0, 0}};
    }
    return s;
}

std::uint32_t MemTiming::starts_at(std::uint64_t b, unsigned cls) const
{
    const Bucket &s = m_cal[b & m_cal_mask];
    return s.index == b ? s.starts[cls] : 0;
}

// Would an access of class `cls` starting in bucket b keep every bucket it
// occupies below the outstanding limit? First a cheap upper bound: every
// access that started from `back` buckets before b to the end of this one's
// span. For short spans it comes from the coarse ring (one to three coarse
// buckets), for long ones from the list of accesses in flight (two binary
// searches). Only when that bound reaches the limit is the exact count taken.
// On failure *next is the next bucket worth trying.
inline bool MemTiming::outstanding_ok(std::uint64_t b, unsigned cls, std::uint64_t *next)
{
    const std::uint64_t lo = b >= m_back ? b - m_back + 1 : 0, hi = b + m_span[cls] - 1;
    std::uint64_t bound = 0;
    if (!m_long) {
        for (std::uint64_t c = lo / kCoarseBuckets; c <= hi / kCoarseBuckets; c++) {
            const Coarse &k = m_coarse[c & m_coarse_mask];
            bound += k.index == c ? k.starts : 0;
        }
        if (bound < m_outstanding || outstanding_short(b, cls))
            return true;
        *next = b + 1;
        return false;
    }
    const auto first = m_live.begin() + static_cast<long>(m_live_head);
    const auto by_b = [](const Live &e, std::uint64_t v) { return e.b < v; };
    const auto a = std::lower_bound(first, m_live.end(), lo, by_b);
    const auto z = std::lower_bound(a, m_live.end(), hi + 1, by_b);
    bound = static_cast<std::uint64_t>(z - a);
    return bound < m_outstanding || outstanding_exact(b, cls, next);
}

// Short spans: in flight at bucket x = the accesses of each class that
// started within that class's span up to x. Slide x across [b, b + span).
bool MemTiming::outstanding_short(std::uint64_t b, unsigned cls) const
{
    const std::uint64_t span = m_span[cls];
    std::uint64_t inflight = 0;
    for (unsigned c = 0; c < 2; c++)
        for (std::uint64_t y = b >= m_span[c] - 1 ? b - (m_span[c] - 1) : 0; y <= b; y++)
            inflight += starts_at(y, c);
    for (std::uint64_t x = b;; x++) {
        if (inflight >= m_outstanding)
            return false;
        if (x + 1 == b + span)
            return true;
        for (unsigned c = 0; c < 2; c++) {
            inflight += starts_at(x + 1, c);
            if (x + 1 >= m_span[c])
                inflight -= starts_at(x + 1 - m_span[c], c);
        }
    }
}

// Long spans: in flight at bucket x, the accesses of each class that started
// within that class's span up to x, swept over [b, b + span) as +1/-1 events of the
// accesses that overlap it (at most a few times the limit of them), so the
// cost does not depend on the span. On failure *next is the bucket after the
// last saturated one: every start up to it would include that bucket too.
bool MemTiming::outstanding_exact(std::uint64_t b, unsigned cls, std::uint64_t *next)
{
    const std::uint64_t lo = b >= m_back ? b - m_back + 1 : 0, end = b + m_span[cls];
    const auto first = m_live.begin() + static_cast<long>(m_live_head);
    auto it = std::lower_bound(first, m_live.end(), lo, [](const Live &e, std::uint64_t v) { return e.b < v; });
    m_events.clear();
    for (; it != m_live.end() && it->b < end; ++it) {
        const std::uint64_t e_end = it->b + m_span[it->cls];
        if (e_end <= b)
            continue;
        m_events.emplace_back(std::max(it->b, b), +1);
        m_events.emplace_back(std::min(e_end, end), -1);
    }
    std::sort(m_events.begin(), m_events.end());  // at equal buckets, ends (-1) first
    std::int64_t inflight = 0;
    std::uint64_t last_sat = 0;
    bool sat = false;
    for (std::size_t i = 0; i < m_events.size();) {
        const std::uint64_t x = m_events[i].first;
        for (; i < m_events.size() && m_events[i].first == x; i++)
            inflight += m_events[i].second;
        // inflight holds over [x, next event or end)
        const std::uint64_t until = i < m_events.size() ? m_events[i].first : end;
        if (inflight >= static_cast<std::int64_t>(m_outstanding) && until > x) {
            sat = true;
            last_sat = until - 1;
        }
    }
    if (!sat)
        return true;
    *next = last_sat + 1;
    return false;
}

// Records an access starting in bucket b; forgets those that ended before
// floor_b (no access can start before it).
void MemTiming::add_live(std::uint64_t b, unsigned cls, std::uint64_t floor_b)
{
    while (m_live_head < m_live.size() && m_live[m_live_head].b + m_back <= floor_b)
        m_live_head++;
    if (m_live_head > 4096 && 2 * m_live_head > m_live.size()) {
        m_live.erase(m_live.begin(), m_live.begin() + static_cast<long>(m_live_head));
        m_live_head = 0;
    }
    m_live.push_back(Live{b, cls});
    // Mostly in order already: move it back past later starts.
    for (std::size_t i = m_live.size() - 1; i > m_live_head && m_live[i - 1].b > b; i--)
        std::swap(m_live[i - 1], m_live[i]);
}

Cycles MemTiming::access(Cycles t, std::uint32_t bytes, Cycles floor)
{
    m_accesses++;
    unsigned cls = 0;
    std::uint32_t lat = m_latency;
    if (m_hit_prob > 0.0) {
        // 53 random bits -> [0, 1)
        double u = static_cast<double>(xorshift64(m_rng) >> 11) * (1.0 / 9007199254740992.0);
        if (u < m_hit_prob) {
            cls = 1;
            lat = m_cache_latency;
            m_cache_hits++;
        }
    }
    // A transfer wider than one bucket's bandwidth occupies whole buckets.
    const std::uint32_t need = bytes <= m_capacity ? 1 : (bytes + m_capacity - 1) / m_capacity;
    std::uint64_t b = t / kBucketCycles;
    // A slot is next used a whole calendar turn after its last use, so it is
    // rarely still cached: fetch the slots the next accesses will likely
    // want (a walk's later reads, the next requests) while this one runs.
    for (std::uint64_t k = 1; k <= 4; k++)
        __builtin_prefetch(&m_cal[(b + k * m_span[0]) & m_cal_mask]);
    std::uint64_t next = 0;
    if (need == 1) {
        Bucket *s;
        for (;;) {
            s = &slot(b);  // an overrun slot reads as full
            if (s->bytes > m_capacity - bytes) {
                b++;
            } else if (outstanding_ok(b, cls, &next)) {
                break;
            } else {
                b = next;
            }
        }
        s->bytes += bytes;
        s->starts[cls]++;
    } else {
        for (;;) {
            bool ok = true;
            for (std::uint32_t i = 0; i < need && ok; i++)
                ok = slot(b + i).bytes == 0;
            if (!ok)
                b++;
            else if (outstanding_ok(b, cls, &next))
                break;
            else
                b = next;
        }
        for (std::uint32_t i = 0; i < need; i++)
            slot(b + i).bytes = m_capacity;
        slot(b).starts[cls]++;
    }
    if (m_long)
        add_live(b, cls, floor / kBucketCycles);
    const std::uint64_t c = b / kCoarseBuckets;
    Coarse &k = m_coarse[c & m_coarse_mask];
    if (k.index != c)
        k = Coarse{c, 0};
    k.starts++;
    const Cycles start = std::max<Cycles>(t, b * kBucketCycles);
    m_stall += start - t;
    return start + (need - 1) * kBucketCycles + lat;
}

Memory::Memory(sc_core::sc_module_name name, const ims_sim_cfg &cfg, const Clock &clk)
    : sc_module(name), tsock("tsock", *this), m_clk(clk), m_latency(cfg.mem_latency), m_timing(cfg)
{
    m_access_bytes = cfg.mem_access_bytes;
}

void Memory::access(tlm::tlm_generic_payload &trans)
{
    const std::uint64_t pa = trans.get_address();
    const unsigned len = trans.get_data_length();
    if (!m_mem) {
        trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return;
    }
    if (trans.get_command() == tlm::TLM_IGNORE_COMMAND) {  // timing only (the IOMMU's timed re-issue)
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    unsigned char *data = trans.get_data_ptr();
    const unsigned sw = trans.get_streaming_width();
    const unsigned char *be = trans.get_byte_enable_ptr();
    if (__builtin_expect(be != nullptr || sw - 1 < len - 1, 0)) {  // byte enables, or 0 < sw < len
        access_bytes(trans);
        return;
    }
    if (len == 8 && !(pa & 7)) {  // table entries: the common case
        std::uint64_t v;
        if (trans.is_read()) {
            v = ims_mem_read64(m_mem, pa);
            std::memcpy(data, &v, 8);
        } else if (trans.is_write()) {
            std::memcpy(&v, data, 8);
            ims_mem_write64(m_mem, pa, v);
        }
    } else if (trans.is_read()) {
        ims_mem_read(m_mem, pa, data, len);
    } else if (trans.is_write()) {
        ims_mem_write(m_mem, pa, data, len);
    }
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

// A streaming burst or one with byte enables (IEEE 1666-2011 14.13, 14.14):
// byte i of the data is address pa + i % streaming width, moved only if its
// byte enable (byte_enable[i % byte-enable length]) is 0xff (TLM_BYTE_ENABLED). A disabled
// byte is neither written nor, on a read, changed in the data array.
void Memory::access_bytes(tlm::tlm_generic_payload &trans)
{
    const std::uint64_t pa = trans.get_address();
    const unsigned len = trans.get_data_length(), sw = trans.get_streaming_width();
    const unsigned char *be = trans.get_byte_enable_ptr();
    const unsigned be_len = trans.get_byte_enable_length();
    if (be && be_len == 0) {
        trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
        return;
    }
    const unsigned w = sw ? sw : len;  // 0 (not allowed by the base protocol): not streaming
    unsigned char *data = trans.get_data_ptr();
    for (unsigned i = 0; i < len; i++) {
        if (be && be[i % be_len] != TLM_BYTE_ENABLED)
            continue;
        if (trans.is_read())
            ims_mem_read(m_mem, pa + i % w, data + i, 1);
        else if (trans.is_write())
            ims_mem_write(m_mem, pa + i % w, data + i, 1);
    }
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

void Memory::bind_backing(ims_mem *mem)
{
    if (m_mem)
        ims_mem_set_free_hook(m_mem, nullptr, nullptr);
    m_mem = mem;
    if (m_mem)
        ims_mem_set_free_hook(m_mem, &Memory::frame_freed, this);
}

void Memory::frame_freed(void *ctx, std::uint64_t pa)
{
    Memory *self = static_cast<Memory *>(ctx);
    if (self->m_dmi_granted)
        self->tsock->invalidate_direct_mem_ptr(pa, pa + (IMS_PAGE_SIZE - 1));
}

// Read-only DMI to one backed frame. Writes keep going through transport (a
// write may have to allocate the frame), and a frame never written has no
// storage to point at: both are refused for that frame.
bool Memory::get_direct_mem_ptr(tlm::tlm_generic_payload &trans, tlm::tlm_dmi &dmi)
{
    const std::uint64_t base = trans.get_address() & ~(IMS_PAGE_SIZE - 1);
    dmi.set_start_address(base);
    dmi.set_end_address(base + (IMS_PAGE_SIZE - 1));
    const void *frame = m_mem && trans.is_read() ? ims_mem_frame(m_mem, base) : nullptr;
    if (!frame) {
        dmi.allow_none();
        return false;
    }
    // The pointer is read-only in use (allow_read); tlm_dmi takes it non-const.
    dmi.set_dmi_ptr(const_cast<unsigned char *>(static_cast<const unsigned char *>(frame)));
    dmi.allow_read();
    dmi.set_read_latency(m_clk.to_time(m_latency));
    m_dmi_granted = true;
    return true;
}

void Memory::b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay)
{
    if (__builtin_expect(trans.get_command() == tlm::TLM_IGNORE_COMMAND && m_mem, 1))
        trans.set_response_status(tlm::TLM_OK_RESPONSE);  // timing only (the common case)
    else
        access(trans);
    const Cycles t = m_clk.arrival(delay);
    // Nothing arrives before the current time (delays are never negative).
    const Cycles now = m_timing.uses_floor() ? m_clk.to_cycles(m_clk.now()) : 0;
    const Cycles done = m_timing.access(t, std::max(m_access_bytes, trans.get_data_length()), now);
    delay += m_clk.to_time(done - t);
}

unsigned Memory::transport_dbg(tlm::tlm_generic_payload &trans)
{
    access(trans);
    return trans.get_response_status() == tlm::TLM_OK_RESPONSE ? trans.get_data_length() : 0;
}

DataSink::DataSink(sc_core::sc_module_name name) : sc_module(name), tsock("tsock", *this) {}

void DataSink::b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &)
{
    count(trans.get_data_length());
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

}  // namespace ims
