import Foundation

/// Names the calling thread (the first 15 bytes), as top, perf and gdb show it: the writer, the worker pools.
/// (Foundation hands the name of the current thread to pthread_setname_np.)
public func nameCurrentThread(_ name: String) {
    Thread.current.name = String(decoding: name.utf8.prefix(15), as: UTF8.self)
}
