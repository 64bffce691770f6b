import JSON
import Tokenization

/// The tokenizer settings a Hugging Face directory keeps outside `tokenizer.json`
/// (`tokenizer_config.json`, `chat_template.jinja`), and their rendering when writing one.
struct HuggingFaceTokenizerSettings {
    /// `bos_token`, `eos_token`, `unk_token`, `pad_token` contents, where given.
    var bosToken: String?, eosToken: String?, unknownToken: String?, paddingToken: String?
    /// `add_bos_token`, where given.
    var addBOS: Bool?
    /// The chat template (Jinja), where given.
    var chatTemplate: String?

    /// Reads `tokenizer_config.json` and `chat_template.jinja` in `directory`; both are optional.
    init(directory: String) throws(ModelIOError) {
        let configPath = directory + "/tokenizer_config.json"
        if HuggingFaceModelFiles.exists(configPath) {
            let json = try HuggingFaceJSONFile.read(configPath)
            func token(_ key: String) throws(ModelIOError) -> String? {
                switch json[key] {
                case nil, .null?: return nil
                case .string(let content)?: return content
                case let value?:
                    guard let content = value["content"]?.string else {
                        throw ModelIOError(
                            path: configPath, item: key,
                            "is \(value.kindName), not a token string or {\"content\": ...}")
                    }
                    return content
                }
            }
            bosToken = try token("bos_token")
            eosToken = try token("eos_token")
            unknownToken = try token("unk_token")
            paddingToken = try token("pad_token")
            addBOS = json["add_bos_token"]?.bool
            switch json["chat_template"] {
            case .string(let template)?: chatTemplate = template
            case .array(let templates)?:
                chatTemplate = templates.first { $0["name"]?.string == "default" }?["template"]?.string
            default: break
            }
        }
        let jinjaPath = directory + "/chat_template.jinja"
        if HuggingFaceModelFiles.exists(jinjaPath) {
            chatTemplate = String(decoding: try HuggingFaceJSONFile.bytes(jinjaPath), as: UTF8.self)
        }
    }

    /// Applies these settings to `vocabulary`, resolving token strings to ids; config.json's ids
    /// fill in what the tokenizer files leave open.
    func apply(to vocabulary: inout BPEVocabulary, config: HuggingFaceConfig, path: String) throws(ModelIOError) {
        var idByToken: [String: Int32] = [:]
        for (id, token) in vocabulary.tokens.enumerated().reversed() { idByToken[token] = Int32(id) }
        func resolve(_ token: String?, _ key: String) throws(ModelIOError) -> Int32? {
            guard let token else { return nil }
            guard let id = idByToken[token] else {
                throw ModelIOError(path: path, item: key, "token \"\(token)\" is not in the vocabulary")
            }
            return id
        }
        func fromConfig(_ id: Int?) -> Int32? {
            guard let id, id >= 0, id < vocabulary.tokens.count else { return nil }
            return Int32(id)
        }
        vocabulary.bosID = try resolve(bosToken, "bos_token") ?? fromConfig(config.bosTokenID) ?? vocabulary.bosID
        vocabulary.eosID =
            try resolve(eosToken, "eos_token") ?? fromConfig(config.eosTokenIDs.first) ?? vocabulary.eosID
        vocabulary.unknownID = try resolve(unknownToken, "unk_token") ?? vocabulary.unknownID
        vocabulary.paddingID =
            try resolve(paddingToken, "pad_token") ?? fromConfig(config.padTokenID) ?? vocabulary.paddingID
        if let addBOS { vocabulary.addBOS = addBOS }
    }

    /// The `tokenizer_config.json` Shears writes for `vocabulary`.
    static func json(vocabulary: BPEVocabulary, modelMaxLength: Int, chatTemplate: String?) -> [UInt8] {
        func token(_ id: Int32?) -> String? {
            guard let id, id >= 0, Int(id) < vocabulary.tokens.count else { return nil }
            return vocabulary.tokens[Int(id)]
        }
        var members: [(key: String, value: JSONValue)] = [
            ("add_bos_token", .bool(vocabulary.addBOS)),
            ("add_eos_token", .bool(false)),
            ("clean_up_tokenization_spaces", .bool(false)),
            ("model_max_length", .integer(modelMaxLength)),
            ("tokenizer_class", .string("PreTrainedTokenizerFast")),
        ]
        for (key, id) in [
            ("bos_token", vocabulary.bosID), ("eos_token", vocabulary.eosID),
            ("unk_token", vocabulary.unknownID), ("pad_token", vocabulary.paddingID),
        ] {
            if let content = token(id) { members.append((key, .string(content))) }
        }
        if let chatTemplate { members.append(("chat_template", .string(chatTemplate))) }
        members.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return JSONWriter.pretty(.object(members))
    }

    /// The `generation_config.json` Shears writes.
    static func generationConfigJSON(vocabulary: BPEVocabulary) -> [UInt8] {
        var members: [(key: String, value: JSONValue)] = [("_from_model_config", .bool(true))]
        if let bos = vocabulary.bosID { members.append(("bos_token_id", .integer(Int(bos)))) }
        if let eos = vocabulary.eosID { members.append(("eos_token_id", .integer(Int(eos)))) }
        if let pad = vocabulary.paddingID { members.append(("pad_token_id", .integer(Int(pad)))) }
        return JSONWriter.pretty(.object(members))
    }
}
