import Foundation
import Support

/// Replaces the rule files of a rules directory with a new set, file by file atomically: each file is written
/// beside its place under a hidden name (which the rules loader never reads), flushed to disk, then renamed into
/// place, so no reader ever sees a half-written file. Rule files of the old set that the new one lacks are
/// removed; anything else in the directory (nested profiles, fixtures, notes) is left alone. When a step fails,
/// the files already replaced are put back.
public enum RulesDirectoryWriter {
    /// Why the files could not be written.
    public struct WriteError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Makes the rule files of `directory` exactly `files` (paths relative to it; the current set is `current`).
    public static func replace(_ directory: String, current: [String: [UInt8]], with files: [String: [UInt8]]) throws(WriteError) {
        var written: [String] = []
        var removed: [String] = []
        var createdFolders: [String] = []
        do throws(WriteError) {
            for (path, bytes) in files.sorted(by: { $0.key < $1.key }) where current[path] != bytes {
                createdFolders += missingFolders(of: path, in: directory)
                try write(bytes, to: directory + "/" + path)
                written.append(path)
            }
            for path in current.keys.sorted() where files[path] == nil {
                guard unlink(directory + "/" + path) == 0 || errno == ENOENT else {
                    throw WriteError(description: "cannot remove \(path): \(String(cString: strerror(errno)))")
                }
                removed.append(path)
            }
            removeEmptyFolders(of: removed, in: directory)
            syncDirectory(directory)
        } catch {
            for path in written + removed {
                if let old = current[path] { try? write(old, to: directory + "/" + path) } else { unlink(directory + "/" + path) }
            }
            for folder in createdFolders.sorted(by: { $0.count > $1.count }) { rmdir(directory + "/" + folder) }
            throw error
        }
    }

    /// Writes `bytes` to a hidden temporary file beside `path`, flushes it, and renames it over `path`.
    private static func write(_ bytes: [UInt8], to path: String) throws(WriteError) {
        let folder = RelativePath.parent(of: path)  // an absolute path here
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw WriteError(description: "cannot create \(folder): \(error.localizedDescription)")
        }
        let temporary = folder + "/.deploy-\(getpid())-" + RelativePath.name(of: path)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw WriteError(description: "cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                unlink(temporary)
                throw WriteError(description: "cannot write \(temporary): \(reason)")
            }
            offset += count
        }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard synced, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw WriteError(description: "cannot replace \(path): \(reason)")
        }
    }

    /// The folders on the way to `path` that do not exist yet (outermost first), relative to `directory`.
    private static func missingFolders(of path: String, in directory: String) -> [String] {
        var missing: [String] = []
        for folder in RelativePath.folders(of: path) {
            guard !FileManager.default.fileExists(atPath: directory + "/" + folder) else { break }
            missing.insert(folder, at: 0)
        }
        return missing
    }

    /// Removes the folders that held removed files once they are empty (deepest first; never the directory).
    private static func removeEmptyFolders(of removed: [String], in directory: String) {
        var folders = Set<String>()
        for path in removed { folders.formUnion(RelativePath.folders(of: path)) }
        for folder in folders.sorted(by: { $0.count > $1.count }) { rmdir(directory + "/" + folder) }  // fails unless empty
    }

    /// Flushes the directory entries (the renames) to disk.
    private static func syncDirectory(_ directory: String) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}
