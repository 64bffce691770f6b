import Foundation
import Inference
import JSON
import ModelIO

/// Multiple-choice tasks from a JSONL file in lm-evaluation-harness's shape: one object per line
/// with `context` (a string), `choices` (a non-empty list of strings) and `gold` (the 0-based
/// index of the right choice); blank lines are skipped, other fields ignored.
package enum MultipleChoiceFile {
    /// One task as written in the file.
    package struct Entry: Equatable {
        /// The line number (1-based).
        package var line: Int
        /// The context text.
        package var context: String
        /// The continuations.
        package var choices: [String]
        /// The index of the right continuation.
        package var gold: Int
    }

    /// Reads and checks every line of `path`.
    ///
    /// - Throws: `CommandFailure` (exit 2) naming the file and line of the first bad entry.
    package static func read(_ path: String) throws(CommandFailure) -> [Entry] {
        let text = try InputFiles.readText(path)
        var entries: [Entry] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            func bad(_ message: String) -> CommandFailure { .badInput("\(path): line \(number): \(message)") }
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            let value: JSONValue
            do {
                value = try JSONParser.parse(Array(line.utf8))
            } catch {
                throw bad("not valid JSON: \(error.message)")
            }
            guard value.members != nil else { throw bad("not a JSON object") }
            guard let context = value["context"]?.string else { throw bad("no string field 'context'") }
            guard let list = value["choices"]?.array, !list.isEmpty else {
                throw bad("no 'choices' (a non-empty list of strings)")
            }
            let choices = list.compactMap(\.string)
            guard choices.count == list.count else { throw bad("'choices' must all be strings") }
            guard let gold = value["gold"]?.int else { throw bad("no integer field 'gold'") }
            guard choices.indices.contains(gold) else {
                throw bad("gold \(gold) is out of range for \(choices.count) choices (0-based)")
            }
            guard choices.allSatisfy({ !$0.isEmpty }) else { throw bad("a choice is empty") }
            entries.append(Entry(line: number, context: context, choices: choices, gold: gold))
        }
        guard !entries.isEmpty else { throw .badInput("\(path): no tasks (one JSON object per line)") }
        return entries
    }

    /// Tokenizes `entry` for `model` as lm-evaluation-harness does: trailing spaces of the
    /// context move to the start of each continuation; each continuation's ids are those of
    /// context + continuation after the context's own ids; an empty context is the end-of-text token.
    package static func task(_ entry: Entry, model: Model) throws(CommandFailure) -> MultipleChoiceTask {
        let tokenizer = model.tokenizer
        var context = entry.context
        var moved = ""
        while context.hasSuffix(" ") {
            context.removeLast()
            moved += " "
        }
        let contextIDs = context.isEmpty ? [] : tokenizer.encode(context)
        var choices: [[Int32]] = []
        for choice in entry.choices {
            let continuation = moved + choice
            if contextIDs.isEmpty {
                choices.append(tokenizer.encode(continuation))
            } else {
                choices.append(Array(tokenizer.encode(context + continuation).dropFirst(contextIDs.count)))
            }
        }
        let start: [Int32]
        if contextIDs.isEmpty {
            guard let end = tokenizer.vocabulary.eosID ?? tokenizer.vocabulary.bosID else {
                throw .badInput(
                    "line \(entry.line): an empty context needs an end-of-text token, and the model has none")
            }
            start = [end]
        } else {
            start = contextIDs
        }
        return MultipleChoiceTask(
            context: start, choices: choices, choiceBytes: entry.choices.map(\.utf8.count), gold: entry.gold)
    }
}
