// Internal: the page-walker pool. Not architectural: `walker.count` walks
// in flight at once; a miss takes the walker that frees first, and misses
// that must wait sit in a bounded FIFO (`walker.queue`): when it is full the
// IOMMU's input stalls until the oldest waiting walk starts.
#ifndef IMS_TLM_WALKER_POOL_HPP
#define IMS_TLM_WALKER_POOL_HPP

#include <vector>

#include "iommusim/tlm.hpp"

namespace ims {

class WalkerPool {
public:
    WalkerPool(std::uint32_t walkers, std::uint32_t queue) : m_free(walkers, 0), m_queue_limit(queue) {}

    // A walk wanting a walker at cycle t: returns its start cycle, sets
    // *queue_wait, and raises *input_ready when the wait queue is full. The
    // walker stays taken until release().
    Cycles acquire(Cycles t, Cycles *queue_wait, Cycles *input_ready, std::uint64_t *queued);
    // The walk acquire() started ends at cycle `done`.
    void release(Cycles done) { m_free[m_taken] = done; }
    std::uint32_t size() const { return static_cast<std::uint32_t>(m_free.size()); }

private:
    std::vector<Cycles> m_free;   // per walker: cycle it becomes free
    std::vector<Cycles> m_queue;  // start cycles of walks still waiting (FIFO)
    std::size_t m_queue_head = 0;
    std::size_t m_taken = 0;      // the walker the current walk took
    std::uint32_t m_queue_limit;
};

// The lookup pipeline's input port: `iotlb.ports` lookups per cycle.
class LookupPort {
public:
    explicit LookupPort(std::uint32_t ports) : m_ports(ports) {}
    // The cycle a lookup arriving at cycle t gets a slot.
    Cycles slot(Cycles t)
    {
        if (t > m_cycle) {
            m_cycle = t;
            m_used = 0;
        }
        if (m_used >= m_ports) {
            m_cycle++;
            m_used = 0;
        }
        m_used++;
        return m_cycle;
    }

private:
    std::uint32_t m_ports;
    Cycles m_cycle = 0;  // cycle being filled
    std::uint32_t m_used = 0;  // lookups in it
};

}  // namespace ims

#endif  // IMS_TLM_WALKER_POOL_HPP
