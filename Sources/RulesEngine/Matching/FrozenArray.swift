/// An array copied once into memory of its own and never changed again, read through a plain pointer: the
/// lexicon's tables are read on every message by many threads, and a pointer read costs no reference counting.
final class FrozenArray<Element>: @unchecked Sendable {
    let pointer: UnsafePointer<Element>
    let count: Int

    init(_ elements: [Element]) {
        let storage = UnsafeMutablePointer<Element>.allocate(capacity: max(elements.count, 1))
        storage.initialize(from: elements, count: elements.count)
        pointer = UnsafePointer(storage)
        count = elements.count
    }

    deinit {
        UnsafeMutablePointer(mutating: pointer).deinitialize(count: count)
        UnsafeMutablePointer(mutating: pointer).deallocate()
    }
}
