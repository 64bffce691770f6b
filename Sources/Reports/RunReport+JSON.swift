import JSON

/// A report file that cannot be read: which file, where in it, and what is wrong.
package struct RunReportError: Error, CustomStringConvertible {
    /// `file: location: problem`.
    package var description: String

    package init(_ file: String, _ location: String, _ problem: String) {
        description = location.isEmpty ? "\(file): \(problem)" : "\(file): \(location): \(problem)"
    }
}

extension RunReport {
    /// The report as JSON, members in the documented order.
    package var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("schema", .string(Self.schema)), ("version", .integer(Self.version)),
            ("shears_version", .string(shearsVersion)), ("created", .string(created)), ("command", .string(command)),
            ("input", input.json), ("output", output.json),
        ]
        members.append(("calibration", calibration?.json ?? .null))
        members += [
            ("steps", .array(steps.map { .string($0) })), ("sparsity", .real(sparsity)),
            ("layers", .array(layers.map(\.json))), ("model_steps", .array(modelSteps.map(\.json))),
            ("times", .object(phases.map { ($0.name, .real($0.seconds)) })), ("seconds", .real(seconds)),
            ("peak_rss_bytes", .integer(peakResidentBytes)), ("evaluations", .array(evaluations.map(\.json))),
        ]
        return .object(members)
    }

    /// Reads a report from its JSON, checking the schema and version.
    ///
    /// - Parameter file: The file's name, for errors.
    /// - Throws: `RunReportError` naming the file and the entry at fault.
    package init(json: JSONValue, file: String) throws(RunReportError) {
        let root = Reader(value: json, file: file, location: "")
        guard json["schema"]?.string == Self.schema else {
            throw RunReportError(file, "", "not a Shears run report (schema is not '\(Self.schema)')")
        }
        let version = try root.int("version")
        guard (1...Self.version).contains(version) else {
            throw RunReportError(
                file, "version", "version \(version) is newer than this Shears reads (\(Self.version)); update Shears")
        }
        shearsVersion = try root.string("shears_version")
        created = try root.string("created")
        command = try root.string("command")
        input = try ModelSummary(try root.object("input"))
        output = try ModelSummary(try root.object("output"))
        calibration = try root.optionalObject("calibration").map { reader throws(RunReportError) in
            try CalibrationSummary(reader)
        }
        steps = try root.array("steps").map { reader throws(RunReportError) in try reader.asString() }
        sparsity = try root.double("sparsity")
        layers = try root.array("layers").map { reader throws(RunReportError) in try Layer(reader) }
        modelSteps = try root.array("model_steps").map { reader throws(RunReportError) in try ModelStep(reader) }
        phases = try root.object("times").members().map { name, reader throws(RunReportError) in
            (name, try reader.asDouble())
        }
        seconds = try root.double("seconds")
        peakResidentBytes = try root.int("peak_rss_bytes")
        evaluations = try root.array("evaluations").map { reader throws(RunReportError) in try Evaluation(reader) }
    }
}

extension RunReport.ModelSummary {
    var json: JSONValue {
        .object([
            ("path", path.map { .string($0) } ?? .null), ("sha256", sha256.map { .string($0) } ?? .null),
            ("bytes", bytes.map { .integer($0) } ?? .null), ("architecture", .string(architecture)),
            ("parameters", .integer(parameters)), ("hidden", .integer(hidden)),
            (
                "layers",
                .array(
                    layers.map {
                        .object([
                            ("heads", .integer($0.heads)), ("kv_heads", .integer($0.kvHeads)),
                            ("ffn", .integer($0.ffn)),
                        ])
                    })
            ),
        ])
    }

    init(_ reader: Reader) throws(RunReportError) {
        path = try reader.optionalString("path")
        sha256 = try reader.optionalString("sha256")
        bytes = try reader.optionalInt("bytes")
        architecture = try reader.string("architecture")
        parameters = try reader.int("parameters")
        hidden = try reader.int("hidden")
        layers = try reader.array("layers").map { layer throws(RunReportError) in
            RunReport.LayerShape(
                heads: try layer.int("heads"), kvHeads: try layer.int("kv_heads"), ffn: try layer.int("ffn"))
        }
    }
}

extension RunReport.CalibrationSummary {
    var json: JSONValue {
        .object([
            ("source", .string(source)), ("windows", .integer(windows)), ("tokens", .integer(tokens)),
            ("sha256", .string(sha256)),
        ])
    }

    init(_ reader: Reader) throws(RunReportError) {
        source = try reader.string("source")
        windows = try reader.int("windows")
        tokens = try reader.int("tokens")
        sha256 = try reader.string("sha256")
    }
}

extension RunReport.Layer {
    var json: JSONValue {
        .object([
            ("layer", .integer(index)), ("sparsity", .real(sparsity)), ("target", target.map(JSONValue.real) ?? .null),
            ("outlier_ratio", outlierRatio.map(JSONValue.real) ?? .null),
            ("pattern", pattern.map { .string($0) } ?? .null), ("error", error.map(JSONValue.real) ?? .null),
            ("seconds", .real(seconds)), ("matrices", .array(matrices.map(\.json))),
        ])
    }

    init(_ reader: Reader) throws(RunReportError) {
        index = try reader.int("layer")
        sparsity = try reader.double("sparsity")
        target = try reader.optionalDouble("target")
        outlierRatio = try reader.optionalDouble("outlier_ratio")
        pattern = try reader.optionalString("pattern")
        error = try reader.optionalDouble("error")
        seconds = try reader.double("seconds")
        matrices = try reader.array("matrices").map { matrix throws(RunReportError) in
            RunReport.Matrix(
                name: try matrix.string("name"), count: try matrix.int("count"), zeros: try matrix.int("zeros"),
                target: try matrix.double("target"),
                notes: try matrix.array("notes").map { note throws(RunReportError) in try note.asString() })
        }
    }
}

extension RunReport.Matrix {
    var json: JSONValue {
        .object([
            ("name", .string(name)), ("count", .integer(count)), ("zeros", .integer(zeros)),
            ("sparsity", .real(sparsity)), ("target", .real(target)), ("notes", .array(notes.map { .string($0) })),
        ])
    }
}

extension RunReport.ModelStep {
    var json: JSONValue {
        .object([
            ("step", .string(step)), ("removed_blocks", .array(removedBlocks.map { .integer($0) })),
            (
                "block_scores",
                .array(blockScores.map { .object([("block", .integer($0.block)), ("score", .real($0.score))]) })
            ),
            ("notes", .array(notes.map { .string($0) })),
        ])
    }

    init(_ reader: Reader) throws(RunReportError) {
        step = try reader.string("step")
        removedBlocks = try reader.array("removed_blocks").map { block throws(RunReportError) in try block.asInt() }
        blockScores = try reader.array("block_scores").map { score throws(RunReportError) in
            (try score.int("block"), try score.double("score"))
        }
        notes = try reader.array("notes").map { note throws(RunReportError) in try note.asString() }
    }
}

extension RunReport.Evaluation {
    /// The documented members, then the other figures in their order.
    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("name", .string(name)), ("ppl", perplexity.map(JSONValue.real) ?? .null),
            ("seqlen", seqlen.map { .integer($0) } ?? .null), ("chunks", chunks.map { .integer($0) } ?? .null),
            ("kld_mean", kldMean.map(JSONValue.real) ?? .null), ("same_top", sameTop.map(JSONValue.real) ?? .null),
        ]
        members += extra.map { ($0.name, JSONValue.real($0.value)) }
        return .object(members)
    }

    /// The members this type names.
    static let knownMembers: Set<String> = ["name", "ppl", "seqlen", "chunks", "kld_mean", "same_top"]

    init(_ reader: Reader) throws(RunReportError) {
        name = try reader.string("name")
        perplexity = try reader.optionalDouble("ppl")
        seqlen = try reader.optionalInt("seqlen")
        chunks = try reader.optionalInt("chunks")
        kldMean = try reader.optionalDouble("kld_mean")
        sameTop = try reader.optionalDouble("same_top")
        extra = []
        for (name, value) in try reader.members() where !Self.knownMembers.contains(name) && !value.value.isNull {
            extra.append((name, try value.asDouble()))
        }
    }
}

extension JSONValue {
    /// A number holding `value` in its shortest round-trip form (`null` if it is not finite).
    static func real(_ value: Double) -> JSONValue { value.isFinite ? .number("\(value)") : .null }
}

/// Typed access to one JSON value of a report, carrying the file and the path to it for errors.
struct Reader {
    let value: JSONValue
    let file: String
    let location: String

    private func child(_ key: String) -> String { location.isEmpty ? key : "\(location).\(key)" }

    private func member(_ key: String) throws(RunReportError) -> Reader {
        guard value.members != nil else {
            throw RunReportError(file, location, "expected an object, got \(value.kindName)")
        }
        guard let found = value[key] else { throw RunReportError(file, child(key), "missing") }
        return Reader(value: found, file: file, location: child(key))
    }

    private func optionalMember(_ key: String) throws(RunReportError) -> Reader? {
        guard value.members != nil else {
            throw RunReportError(file, location, "expected an object, got \(value.kindName)")
        }
        guard let found = value[key], !found.isNull else { return nil }
        return Reader(value: found, file: file, location: child(key))
    }

    func asString() throws(RunReportError) -> String {
        guard let text = value.string else {
            throw RunReportError(file, location, "expected a string, got \(value.kindName)")
        }
        return text
    }

    func asInt() throws(RunReportError) -> Int {
        guard let number = value.int else {
            throw RunReportError(file, location, "expected an integer, got \(value.summary)")
        }
        return number
    }

    func asDouble() throws(RunReportError) -> Double {
        guard let number = value.double else {
            throw RunReportError(file, location, "expected a number, got \(value.kindName)")
        }
        return number
    }

    func string(_ key: String) throws(RunReportError) -> String { try member(key).asString() }
    func int(_ key: String) throws(RunReportError) -> Int { try member(key).asInt() }
    func double(_ key: String) throws(RunReportError) -> Double { try member(key).asDouble() }
    func object(_ key: String) throws(RunReportError) -> Reader {
        let found = try member(key)
        guard found.value.members != nil else {
            throw RunReportError(file, found.location, "expected an object, got \(found.value.kindName)")
        }
        return found
    }
    func optionalObject(_ key: String) throws(RunReportError) -> Reader? {
        guard let found = try optionalMember(key) else { return nil }
        guard found.value.members != nil else {
            throw RunReportError(file, found.location, "expected an object, got \(found.value.kindName)")
        }
        return found
    }
    func optionalString(_ key: String) throws(RunReportError) -> String? { try optionalMember(key)?.asString() }
    func optionalInt(_ key: String) throws(RunReportError) -> Int? { try optionalMember(key)?.asInt() }
    func optionalDouble(_ key: String) throws(RunReportError) -> Double? { try optionalMember(key)?.asDouble() }

    func array(_ key: String) throws(RunReportError) -> [Reader] {
        let found = try member(key)
        guard let elements = found.value.array else {
            throw RunReportError(file, found.location, "expected an array, got \(found.value.kindName)")
        }
        return elements.enumerated().map { Reader(value: $1, file: file, location: "\(found.location)[\($0)]") }
    }

    func members() throws(RunReportError) -> [(key: String, value: Reader)] {
        guard let members = value.members else {
            throw RunReportError(file, location, "expected an object, got \(value.kindName)")
        }
        return members.map { ($0.key, Reader(value: $0.value, file: file, location: child($0.key))) }
    }
}
