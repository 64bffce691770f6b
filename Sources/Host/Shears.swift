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
            try ParallelRun.join(for: type(of: command)._commandName)
            var runnable = command
            try runnable.run()
            ParallelRun.finish()
        } catch let failure as CommandFailure {
            fail("\(failure.message)", status: failure.status)
        } catch let error as ModelIOError {
            fail("\(error)", status: 2)
        } catch let error as TokenizerError {
            fail("\(error)", status: 2)
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            fail(fullMessage(for: error), status: code == .validationFailure ? 2 : 1)
        }
    }

    /// Prints `message` as this process's error and exits with `status` (every rank of an MPI job).
    private static func fail(_ message: String, status: Int32) -> Never {
        Terminal.printError("\(ParallelRun.errorPrefix): \(message)")
        ParallelRun.exit(status: status)
    }
}

extension ShearsVersion {
    /// `0.1.0 (Lua 5.4.x, OpenBLAS <core>, ..., MPI)`, printed by `--version` (MPI when built in).
    static var description: String {
        let mpi = ParallelRun.available ? ", MPI" : ""
        return "\(number) (\(String(cString: shears_lua_version())), \(BLASRuntime.summary)\(mpi))"
    }
}
