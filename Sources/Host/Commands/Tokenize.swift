import ArgumentParser
import Foundation
import Recipes

/// `shears tokenize MODEL --text FILE --out IDS.i32`: a text file to token ids.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode a UTF-8 text file with the model's tokenizer.",
        discussion:
            "Writes the ids as int32 little-endian with no header (no BOS is added unless the model asks for it).")

    @OptionGroup var source: ModelArgument

    @Option(help: "The UTF-8 text file to encode.", completion: .file())
    var text: String

    @Option(help: "Where to write the ids (int32 little-endian).", completion: .file())
    var out: String

    @OptionGroup var textOptions: TextOptions

    @Flag(help: "Recognise special tokens such as <|im_start|> written in the text.")
    var parseSpecial = false

    func run() throws {
        let model = try source.load()
        let content = try textOptions.reading.read(text)
        let tokenizer = try textOptions.reading.tokenizer(for: model)
        let start = ContinuousClock.now
        let ids = tokenizer.encode(content, parseSpecialTokens: parseSpecial)
        let seconds = Format.seconds(ContinuousClock.now - start)
        var data = Data(capacity: ids.count * 4)
        for id in ids { withUnsafeBytes(of: id.littleEndian) { data.append(contentsOf: $0) } }
        try InputFiles.writeAtomically(data, to: out)
        print("\(ids.count) tokens from \(content.utf8.count) bytes in \(String(format: "%.2f", seconds)) s -> \(out)")
    }
}
