import Foundation
import Synchronization

/// Watches a rules directory and calls back once per burst of changes: a write, an editor's rename into place,
/// a `git checkout`, a new or deleted file, in any subdirectory. Uses inotify, re-watching a directory that was
/// deleted and recreated; with `pollInterval` set, also compares a fingerprint of the files on that period, for
/// mounts that deliver no events (network filesystems, some container volumes).
///
/// A burst ends after `debounce` seconds without events, so saving several files at once is one reload.
public final class RulesWatcher: @unchecked Sendable {
    public let directory: String
    private let debounce: TimeInterval
    private let pollInterval: TimeInterval?
    private let onChange: @Sendable () -> Void
    private let stopping = Atomic<Bool>(false)
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    private var descriptor: Int32 = -1
    private var watches: [Int32: String] = [:]  // watch descriptor → directory path

    private static let mask = UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_MOVED_FROM) | UInt32(IN_CREATE)
        | UInt32(IN_DELETE) | UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF) | UInt32(IN_MODIFY) | UInt32(IN_ATTRIB)

    /// Quiet time that ends a burst of changes.
    public static let defaultDebounce: TimeInterval = 0.1

    public init(directory: String, debounce: TimeInterval = RulesWatcher.defaultDebounce, pollInterval: TimeInterval? = nil,
                onChange: @escaping @Sendable () -> Void) {
        self.directory = directory
        self.debounce = debounce
        self.pollInterval = pollInterval
        self.onChange = onChange
    }

    public func start() {
        descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        watchTree()
        let thread = Thread { [unowned self] in
            self.run()
            self.finished.signal()
        }
        thread.name = "rules-watcher"
        self.thread = thread
        thread.start()
    }

    public func stop() {
        guard thread != nil else { return }
        stopping.store(true, ordering: .releasing)
        finished.wait()
        thread = nil
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }

    /// Watches the directory and every subdirectory not watched yet.
    private func watchTree() {
        guard descriptor >= 0 else { return }
        var pending = [directory]
        while let folder = pending.popLast() {
            if !watches.values.contains(folder) {
                let watch = inotify_add_watch(descriptor, folder, RulesWatcher.mask)
                if watch >= 0 { watches[watch] = folder }
            }
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            for entry in entries where !entry.hasPrefix(".") {
                let path = folder + "/" + entry
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                    pending.append(path)
                }
            }
        }
    }

    private func run() {
        var dirty = false
        var quietSince = Date()
        var lastPoll = Date()
        var fingerprint = RulesWatcher.fingerprint(of: directory)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var lastRewatch = Date()
        while !stopping.load(ordering: .acquiring) {
            // The directory itself was deleted or moved away: watch it again once it is back.
            if !watches.values.contains(directory), Date().timeIntervalSince(lastRewatch) >= 0.5 {
                lastRewatch = Date()
                watchTree()
                if watches.values.contains(directory) {
                    dirty = true
                    quietSince = Date()
                }
            }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = descriptor >= 0 ? poll(&poller, 1, 50) : { usleep(50_000); return 0 }()
            if ready > 0 {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count > 0 && handleEvents(buffer, count: count) {
                    dirty = true
                    quietSince = Date()
                }
            }
            if let pollInterval, Date().timeIntervalSince(lastPoll) >= pollInterval {
                lastPoll = Date()
                let current = RulesWatcher.fingerprint(of: directory)
                if current != fingerprint {
                    dirty = true
                    quietSince = Date().addingTimeInterval(-debounce)
                }
            }
            if dirty && Date().timeIntervalSince(quietSince) >= debounce {
                dirty = false
                fingerprint = RulesWatcher.fingerprint(of: directory)
                watchTree()  // new subdirectories, or the directory itself recreated
                onChange()
            }
        }
    }

    /// Reads the events in `buffer`; true when any concerns the rules: a `.lua` file, a folder (created, removed,
    /// moved: it may hold rule files), a watched folder itself gone, or events lost to an overflowing queue. An
    /// editor's swap and backup files are not the rules.
    private func handleEvents(_ buffer: [UInt8], count: Int) -> Bool {
        var offset = 0
        var relevant = false
        let folderOrLost = UInt32(IN_ISDIR) | UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF) | UInt32(IN_IGNORED) | UInt32(IN_Q_OVERFLOW)
        while offset + MemoryLayout<inotify_event>.size <= count {
            let event = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: inotify_event.self) }
            let nameStart = offset + MemoryLayout<inotify_event>.size
            offset = nameStart + Int(event.len)
            if event.mask & UInt32(IN_IGNORED) != 0 {
                watches[event.wd] = nil  // its directory went away; watchTree re-adds it if it comes back
            }
            if event.mask & folderOrLost != 0 || RulesWatcher.namesRuleFile(buffer[nameStart..<min(offset, count)]) {
                relevant = true
            }
        }
        return relevant
    }

    /// Whether an event's name (NUL-padded) is a `.lua` file's.
    static func namesRuleFile(_ name: ArraySlice<UInt8>) -> Bool {
        let bytes = name.prefix { $0 != 0 }
        let list = RuleSet.keywordListSuffix.utf8
        return (bytes.count > 4 && bytes.suffix(4).elementsEqual(".lua".utf8)) || (bytes.count > list.count && bytes.suffix(list.count).elementsEqual(list))
    }

    /// Names, sizes and modification times of the `.lua` files: changes when any file does.
    static func fingerprint(of directory: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var entries: [String] = []
        while let path = enumerator.nextObject() as? String {
            guard path.hasSuffix(".lua") || path.hasSuffix(RuleSet.keywordListSuffix) else { continue }
            var info = stat()
            guard stat(directory + "/" + path, &info) == 0 else { continue }
            entries.append("\(path)|\(info.st_size)|\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)|\(info.st_ino)")
        }
        return entries.sorted()
    }
}
