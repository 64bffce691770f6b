/// An error a command reports to the user, with the exit status it implies.
package struct CommandFailure: Error {
    /// One line saying what went wrong, where, and what to do.
    package let message: String
    /// 2 for bad input or usage, 1 for a run that failed, 130 for one interrupted by SIGINT.
    package let status: Int32

    /// A failure with an explicit exit status (130 for an interrupted run).
    package init(message: String, status: Int32) {
        self.message = message
        self.status = status
    }

    /// Bad input (a file, a value): exit status 2.
    package static func badInput(_ message: String) -> CommandFailure { CommandFailure(message: message, status: 2) }

    /// A run that failed for reasons other than its input: exit status 1.
    package static func runFailed(_ message: String) -> CommandFailure { CommandFailure(message: message, status: 1) }
}
