import Foundation
import JSON

extension RunReport {
    /// Reads the report at `path`.
    ///
    /// - Throws: `RunReportError` naming the file, and the entry at fault, when it cannot be read,
    ///   is not JSON, or is not a Shears run report this version reads.
    package init(contentsOf path: String) throws(RunReportError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RunReportError(path, "", "cannot read the file")
        }
        let value: JSONValue
        do { value = try JSONParser.parse([UInt8](data)) } catch {
            throw RunReportError(path, "", "not valid JSON (\(error.message))")
        }
        try self.init(json: value, file: path)
    }

    /// The report as pretty-printed JSON text, ending in a newline.
    package var text: Data { Data(JSONWriter.pretty(json) + [0x0a]) }
}
