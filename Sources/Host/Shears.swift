import ArgumentParser
import CLua
import Foundation
import ModelIO
import Recipes
import Tokenization

/// The `shears` command: prune, evaluate and convert LLaMA-family models.
@main
struct Shears: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shears",
        abstract: "Prune, evaluate and convert LLaMA-family language models (GGUF and safetensors).",
        discussion: """
            MODEL is a .gguf file or a Hugging Face model directory (config.json, tokenizer.json, \
            *.safetensors). Exit status: 0 on success, 1 when a run fails, 2 on bad usage or bad input.
            """,
        version: ShearsVersion.description,
        subcommands: [
            Run.self, Prune.self, ImatrixCommand.self, Gradients.self, Inspect.self, Tokenize.self, Eval.self,
            Generate.self, Convert.self, Synth.self,
            Bench.self, Report.self,
            Plugins.self, PluginCheck.self, Methods.self,
        ]
    )

    /// Runs the command line, mapping every error to one message on stderr and an exit status.
    static func main() {
        BLASRuntime.ensureFastKernel()
        let command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            // Help and --version are "errors" that exit 0; usage errors exit 2, not EX_USAGE.
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            Terminal.printError(fullMessage(for: error))
            Foundation.exit(2)
        }
        do {
            var runnable = command
            try runnable.run()
        } catch let failure as CommandFailure {
            Terminal.printError("shears: \(failure.message)")
            Foundation.exit(failure.status)
        } catch let error as ModelIOError {
            Terminal.printError("shears: \(error)")
            Foundation.exit(2)
        } catch let error as TokenizerError {
            Terminal.printError("shears: \(error)")
            Foundation.exit(2)
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            Terminal.printError("shears: \(fullMessage(for: error))")
            Foundation.exit(code == .validationFailure ? 2 : 1)
        }
    }
}

extension ShearsVersion {
    /// `0.1.0 (Lua 5.4.x, OpenBLAS <core>, ...)`, printed by `--version`.
    static var description: String { "\(number) (\(String(cString: shears_lua_version())), \(BLASRuntime.summary))" }
}
