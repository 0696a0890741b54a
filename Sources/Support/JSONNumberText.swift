/// A number as Python's `json` writes a float (`5.0`, `4.2`, `0.1`, `1e-05`; non-finite values as `null`), written
/// straight to bytes. Whole numbers and numbers of at most two decimals (urgencies, scores, weights) are written
/// digit by digit; the rest take the shortest text that reads back as the same number (`Double.description`).
public enum JSONNumberText {
    /// Bytes `write(_:into:)` writes at most.
    public static let maximumLength = 32

    /// Writes `number` into `buffer` (room for `maximumLength` bytes) and returns how many bytes it wrote.
    public static func write(_ number: Double, into buffer: UnsafeMutablePointer<UInt8>) -> Int {
        guard number.isFinite else { return copy("null", into: buffer) }
        if number == number.rounded(), abs(number) < 1e16 {
            let count = integer(Int64(number), into: buffer)
            buffer[count] = UInt8(ascii: ".")
            buffer[count + 1] = UInt8(ascii: "0")
            return count + 2
        }
        // A number that is the double nearest to k/100 reads back from k/100's decimal text, and no shorter text
        // lies within half a unit in the last place of it (below 1e9 that unit is far under 0.01): so that text is
        // the shortest, the one `description` gives.
        if abs(number) < 1e9, case let hundredths = (number * 100).rounded(), hundredths / 100 == number {
            let magnitude = Int64(abs(hundredths))
            var count = 0
            if number < 0 { buffer[0] = UInt8(ascii: "-"); count = 1 }
            count += integer(magnitude / 100, into: buffer + count)
            buffer[count] = UInt8(ascii: ".")
            let tenths = magnitude / 10 % 10, last = magnitude % 10
            buffer[count + 1] = UInt8(ascii: "0") + UInt8(tenths)
            if last == 0 { return count + 2 }
            buffer[count + 2] = UInt8(ascii: "0") + UInt8(last)
            return count + 3
        }
        return copy(number.description, into: buffer)
    }

    /// Appends `number`'s text to `out`.
    public static func append(_ number: Double, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maximumLength) { buffer in
            let count = write(number, into: buffer.baseAddress!)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<count]))
        }
    }

    /// `number`'s text as a string.
    public static func string(_ number: Double) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maximumLength) { buffer in
            let count = write(number, into: buffer.baseAddress!)
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<count]), as: UTF8.self)
        }
    }

    /// Writes `value`'s decimal digits (with a minus sign when negative); returns the count.
    private static func integer(_ value: Int64, into buffer: UnsafeMutablePointer<UInt8>) -> Int {
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 24 digits, written backwards
        return withUnsafeMutableBytes(of: &digits) { scratch in
            var end = scratch.count
            repeat {
                end -= 1
                scratch[end] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            var count = 0
            if value < 0 { buffer[0] = UInt8(ascii: "-"); count = 1 }
            for index in end..<scratch.count {
                buffer[count] = scratch[index]
                count += 1
            }
            return count
        }
    }

    private static func copy(_ text: String, into buffer: UnsafeMutablePointer<UInt8>) -> Int {
        var count = 0
        for byte in text.utf8.prefix(maximumLength) {
            buffer[count] = byte
            count += 1
        }
        return count
    }
}
