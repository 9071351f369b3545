/// A min-heap of events by (time, insertion order): equal times run in the order scheduled,
/// which keeps a run a pure function of its seed.
struct EventQueue<Event> {
    private var heap: [(timeMs: UInt64, order: UInt64, event: Event)] = []
    private var nextOrder: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }

    mutating func push(_ event: Event, atMs timeMs: UInt64) {
        heap.append((timeMs, nextOrder, event))
        nextOrder += 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(child, parent) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (timeMs: UInt64, event: Event)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, precedes(left, smallest) { smallest = left }
            if right < heap.count, precedes(right, smallest) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (top.timeMs, top.event)
    }

    private func precedes(_ a: Int, _ b: Int) -> Bool {
        (heap[a].timeMs, heap[a].order) < (heap[b].timeMs, heap[b].order)
    }
}
