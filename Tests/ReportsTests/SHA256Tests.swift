import Foundation
import Reports
import Testing

/// The incremental SHA-256 against FIPS 180-4 test vectors and `sha256sum`.
@Suite("SHA-256")
struct SHA256Tests {
    @Test("FIPS 180-4 vectors, fed in one piece and in pieces that straddle blocks")
    func vectors() {
        #expect(SHA256.hex(of: []) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let twoBlocks = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256.hex(of: twoBlocks) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var sha = SHA256()
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        var start = 0
        var piece = 1
        while start < million.count {
            let end = min(start + piece, million.count)
            million[start..<end].withUnsafeBytes { sha.update($0) }
            start = end
            piece = piece * 3 % 1000 + 1
        }
        let digest = sha.finalize().map { String(format: "%02x", $0) }.joined()
        #expect(digest == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("a file's digest equals sha256sum's")
    func file() throws {
        let path = NSTemporaryDirectory() + "shears-sha-\(getpid()).bin"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<(5 << 20) + 77).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let expected = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(64)
        #expect(SHA256.hex(ofFile: path) == String(expected))
        #expect(SHA256.hex(ofFile: path + ".missing") == nil)
    }
}
