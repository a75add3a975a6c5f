// The page-walker pool (walker_pool.hpp).
#include "walker_pool.hpp"

#include <algorithm>

namespace ims {

Cycles WalkerPool::acquire(Cycles t, Cycles *queue_wait, Cycles *input_ready, std::uint64_t *queued)
{
    auto it = std::min_element(m_free.begin(), m_free.end());
    m_taken = static_cast<std::size_t>(it - m_free.begin());
    const Cycles start = std::max(t, *it);
    if (start > t) {
        while (m_queue_head < m_queue.size() && m_queue[m_queue_head] <= t)
            m_queue_head++;
        if (m_queue_head > 4096 && 2 * m_queue_head > m_queue.size()) {
            m_queue.erase(m_queue.begin(), m_queue.begin() + static_cast<long>(m_queue_head));
            m_queue_head = 0;
        }
        const std::size_t waiting = m_queue.size() - m_queue_head;
        if (waiting >= m_queue_limit) {
            const Cycles until = m_queue_limit ? m_queue[m_queue_head] : start;
            *input_ready = std::max(*input_ready, until);
        }
        if (m_queue_limit)
            m_queue.push_back(start);
        (*queued)++;
    }
    *queue_wait = start - t;
    return start;
}

}  // namespace ims
