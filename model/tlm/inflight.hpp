// Internal: cache fills still in flight. Not architectural: the timing
// model's bookkeeping of when an entry that a walk is filling becomes
// usable. A lookup that hits an entry before that cycle waits for it (that
// is how misses to one page merge into one walk), and an invalidation waits
// for the fills in its scope (inv.policy = drain).
//
// Keys and scopes come from the core (iommu.h, "Cache keys and
// invalidation scopes"): this table compares them and nothing more, so it
// serves any architecture. Open addressing; expired entries are dropped
// when the table is rebuilt.
#ifndef IMS_TLM_INFLIGHT_HPP
#define IMS_TLM_INFLIGHT_HPP

#include <algorithm>
#include <vector>

#include "iommusim/tlm.hpp"

namespace ims {

class InFlightFills {
public:
    InFlightFills() : m_tab(1024) {}

    // The entry `k` becomes usable at cycle `ready` (now: the current cycle,
    // for dropping expired entries).
    void put(const ims_key &k, Cycles ready, Cycles now)
    {
        if (2 * (m_count + 1) > m_tab.size())
            rebuild(now);
        Entry *e = find(k);
        if (!e->used) {
            *e = Entry{k.tag, ready, k.dom, k.kind, k.shift, 1};
            m_count++;
        } else {
            e->ready = std::max(e->ready, ready);
        }
        m_max_ready = std::max(m_max_ready, ready);
        Cycles &m = m_class_max[k.kind][k.shift & 63];
        m = std::max(m, ready);
    }

    // Is any fill still in flight after cycle t?
    bool busy_after(Cycles t) const { return m_max_ready > t; }

    // max(t, ready of k): the hash probe is skipped when no fill of k's kind
    // and size can still be in flight at t.
    Cycles wait_for(const ims_key &k, Cycles t)
    {
        if (m_class_max[k.kind][k.shift & 63] <= t)
            return t;
        const Entry *e = find(k);
        return e->used ? std::max(t, e->ready) : t;
    }

    // Latest ready cycle after `now` among the entries in scope s; 0 if none.
    Cycles latest(const ims_inv_scope &s, Cycles now) const
    {
        if (m_max_ready <= now)
            return 0;  // nothing is in flight: the common case
        Cycles r = 0;
        for (const Entry &e : m_tab) {
            if (!e.used || !(s.kinds & (1u << e.kind)) || (!s.any_dom && e.dom != s.dom))
                continue;
            const std::uint64_t first = e.tag << e.shift;
            const std::uint64_t last = first + ((std::uint64_t{1} << e.shift) - 1);
            if (first <= s.hi && last >= s.lo)
                r = std::max(r, e.ready);
        }
        return r;
    }

private:
    struct Entry {
        std::uint64_t tag;
        Cycles ready;
        std::uint32_t dom;
        std::uint8_t kind, shift, used;
    };

    Entry *find(const ims_key &k) { return find(k.kind, k.dom, k.tag, k.shift); }
    Entry *find(std::uint8_t kind, std::uint32_t dom, std::uint64_t tag, std::uint8_t shift)
    {
        std::uint64_t h = (tag * 0x9e3779b97f4a7c15ull) ^ (static_cast<std::uint64_t>(dom) << 20) ^
                          (static_cast<std::uint64_t>(kind) << 8) ^ shift;
        h ^= h >> 29;
        const std::size_t mask = m_tab.size() - 1;
        for (std::size_t i = h & mask;; i = (i + 1) & mask) {
            Entry &e = m_tab[i];
            if (!e.used || (e.tag == tag && e.dom == dom && e.kind == kind && e.shift == shift))
                return &e;
        }
    }

    void rebuild(Cycles now)
    {
        std::vector<Entry> old;
        old.swap(m_tab);
        std::size_t live = 0;
        for (const Entry &e : old)
            live += e.used && e.ready > now;
        std::size_t size = old.size();
        while (4 * (live + 1) > size)
            size *= 2;
        m_tab.assign(size, Entry{});
        m_count = 0;
        for (const Entry &e : old) {
            if (e.used && e.ready > now) {
                *find(e.kind, e.dom, e.tag, e.shift) = e;
                m_count++;
            }
        }
    }

    std::vector<Entry> m_tab;
    std::size_t m_count = 0;
    Cycles m_max_ready = 0;  // latest ready cycle ever put
    Cycles m_class_max[IMS_KEY_KINDS][64] = {};  // the same, per kind and shift
};

}  // namespace ims

#endif  // IMS_TLM_INFLIGHT_HPP
