import Foundation
import ModelIO

/// Reading and writing the plain files commands take and produce.
package enum InputFiles {
    /// Reads `path` as UTF-8 text, exactly (no newline normalisation).
    ///
    /// - Throws: `CommandFailure.badInput` when the file cannot be read or is not valid UTF-8
    ///   (naming the byte offset of the first bad sequence).
    package static func readText(_ path: String) throws(CommandFailure) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .badInput("\(path): cannot read the text file (\(error.localizedDescription))")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw .badInput("\(path): not valid UTF-8 text (first bad byte at offset \(firstInvalidUTF8Offset(data)))")
        }
        return text
    }

    /// Reads a file of little-endian int32 token ids, each of which must be below `vocabularySize`.
    package static func readIDs(_ path: String, vocabularySize: Int) throws(CommandFailure) -> [Int32] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .badInput("\(path): cannot read the token id file")
        }
        guard data.count % 4 == 0 else {
            throw .badInput("\(path): \(data.count) bytes is not a whole number of int32 token ids")
        }
        let ids = data.withUnsafeBytes { raw in
            (0..<data.count / 4).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
        }
        if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocabularySize }) {
            throw .badInput("\(path): token id \(bad) is outside the vocabulary (0..<\(vocabularySize))")
        }
        return ids
    }

    /// Reads a file of integers, one per line (blank lines ignored): calibration window offsets.
    package static func readOffsets(_ path: String) throws(CommandFailure) -> [Int] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw .badInput("\(path): cannot read the offsets file")
        }
        var offsets: [Int] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            guard let offset = Int(trimmed) else {
                throw .badInput("\(path):\(number + 1): '\(trimmed)' is not an integer offset")
            }
            offsets.append(offset)
        }
        return offsets
    }

    /// Writes `data` to `path` through a temporary file in the same directory and a rename, so
    /// that `path` is either untouched or complete.
    package static func writeAtomically(_ data: Data, to path: String) throws(CommandFailure) {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try data.write(to: temporary)
            if rename(temporary.path, url.path) != 0 {
                throw CocoaError(.fileWriteUnknown)
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw .runFailed("\(path): cannot write the output file (\(error.localizedDescription))")
        }
    }

    /// The offset of the first byte that does not start or continue a valid UTF-8 sequence.
    private static func firstInvalidUTF8Offset(_ data: Data) -> Int {
        var parser = Unicode.UTF8.ForwardParser()
        var bytes = data.makeIterator()
        var offset = 0
        while case .valid(let scalar) = parser.parseScalar(from: &bytes) {
            offset += scalar.count
        }
        return offset
    }
}
