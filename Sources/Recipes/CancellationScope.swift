import Dispatch
import Foundation
import Inference

/// Turns SIGINT and a wall-clock deadline into a `Cancellation` that long computations check, for
/// the lifetime of a command: the first SIGINT asks them to stop (they do within a second and
/// leave no partial output), a second one exits at once with status 130.
package final class CancellationScope {
    /// The request the command's computations check.
    package let cancellation = Cancellation()
    private let interrupt: DispatchSourceSignal
    private let deadline: DispatchSourceTimer?
    private let timeout: Double?

    /// Starts listening for SIGINT and, with `timeout`, a deadline that many seconds from now.
    package init(timeout: Double? = nil) {
        self.timeout = timeout
        let cancellation = cancellation
        signal(SIGINT, SIG_IGN)
        interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        interrupt.setEventHandler {
            if cancellation.reason == nil {
                cancellation.cancel(.interrupted)
                FileHandle.standardError.write(
                    Data("\nshears: stopping (SIGINT); press Ctrl-C again to quit at once\n".utf8))
            } else {
                Foundation.exit(130)
            }
        }
        interrupt.resume()
        if let timeout {
            let timer = DispatchSource.makeTimerSource(queue: .global())
            timer.schedule(deadline: .now() + timeout)
            timer.setEventHandler { cancellation.cancel(.timedOut) }
            timer.resume()
            deadline = timer
        } else {
            deadline = nil
        }
    }

    deinit {
        interrupt.cancel()
        deadline?.cancel()
        signal(SIGINT, SIG_DFL)
    }

    /// When the computation was cancelled, the command's failure: exit 130 after SIGINT, 1 after
    /// the deadline, with a message saying nothing was written. Nil when it was not cancelled.
    package var failure: CommandFailure? {
        switch cancellation.reason {
        case .interrupted?:
            CommandFailure(message: "interrupted (SIGINT); stopped before writing any output", status: 130)
        case .timedOut?:
            CommandFailure(
                message:
                    "timed out after \(timeout.map { "\($0)" } ?? "?") s (--timeout); stopped before writing any output",
                status: 1)
        case nil:
            nil
        }
    }
}
