import JSON

extension BPEVocabulary {
    /// Renders this vocabulary as a Hugging Face `tokenizer.json` that `tokenizers` /
    /// `transformers` load and that encodes exactly as `Tokenizer` does. Control tokens become
    /// special added tokens, user-defined ones plain added tokens; BOS, when added, becomes a
    /// `TemplateProcessing` post-processor. The pre-tokenizer must be a supported one (else the
    /// section is written as null, which `Tokenizer` would have refused anyway). Merge rules that
    /// can never apply (naming or making a token the vocabulary lacks) are left out, since
    /// `tokenizers` refuses them; malformed ones too.
    public func huggingFaceJSON() -> [UInt8] {
        var out = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": ["
        var first = true
        for (id, token) in tokens.enumerated() {
            let type = type(of: id)
            guard type == .control || type == .userDefined else { continue }
            out +=
                (first ? "\n" : ",\n")
                + "    {\"id\": \(id), \"content\": \(JSONWriter.quoted(token)), \"single_word\": false, "
                + "\"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": \(type == .control)}"
            first = false
        }
        out += first ? "],\n" : "\n  ],\n"
        out += "  \"normalizer\": null,\n"
        let preTokenizer = try? PreTokenizer(name: self.preTokenizer)
        out += "  \"pre_tokenizer\": \(preTokenizer?.huggingFaceJSON ?? "null"),\n"
        out += "  \"post_processor\": \(postProcessorJSON),\n"
        out +=
            "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true},\n"
        out += "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n"
        out += "    \"unk_token\": \(unknownID.map { JSONWriter.quoted(tokens[Int($0)]) } ?? "null"),\n"
        out += "    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n    \"fuse_unk\": false,\n"
        out +=
            "    \"byte_fallback\": false,\n    \"ignore_merges\": \(preTokenizer?.ignoresMerges ?? false),\n    \"vocab\": {"
        for (id, token) in tokens.enumerated() {
            out += (id == 0 ? "\n      " : ",\n      ") + JSONWriter.quoted(token) + ": \(id)"
        }
        out += "\n    },\n    \"merges\": ["
        let known = Set(tokens)
        var firstMerge = true
        for (rank, merge) in merges.enumerated() {
            guard let (left, right) = try? MergeTable.split(merge, rank: rank),
                known.contains(left), known.contains(right), known.contains(left + right)
            else { continue }
            out += (firstMerge ? "\n      " : ",\n      ") + JSONWriter.quoted(merge)
            firstMerge = false
        }
        out += "\n    ]\n  }\n}\n"
        return Array(out.utf8)
    }

    /// The `post_processor` section: a BOS template when BOS is added, else ByteLevel.
    private var postProcessorJSON: String {
        guard addBOS, let bosID, Int(bosID) < tokens.count else {
            return #"{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": true}"#
        }
        let name = JSONWriter.quoted(tokens[Int(bosID)])
        let bos = #"{"SpecialToken": {"id": \#(name), "type_id": 0}}"#
        return #"{"type": "TemplateProcessing", "single": [\#(bos), {"Sequence": {"id": "A", "type_id": 0}}], "#
            + #""pair": [\#(bos), {"Sequence": {"id": "A", "type_id": 0}}, \#(bos), {"Sequence": {"id": "B", "type_id": 1}}], "#
            + #""special_tokens": {\#(name): {"id": \#(name), "ids": [\#(bosID)], "tokens": [\#(name)]}}}"#
    }
}
