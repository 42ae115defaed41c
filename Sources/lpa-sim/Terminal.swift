import Foundation

/// Output helpers for commands: a live status line when stdout is a terminal, plain lines otherwise.
enum Console {
    static let isTerminal: Bool = isatty(STDOUT_FILENO) == 1

    /// Rewrites the status line on a terminal; prints a plain line otherwise, flushed at once so
    /// that a pipe or a container log receives each line as it is written.
    static func status(_ line: String) {
        if isTerminal {
            FileHandle.standardOutput.write(Data("\r\u{1B}[2K\(line)".utf8))
        } else {
            print(line)
            fflush(nil)
        }
    }

    /// Ends a status line so the next output starts on its own line.
    static func endStatus() {
        if isTerminal { FileHandle.standardOutput.write(Data("\n".utf8)) }
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data("lpa-sim: \(text)\n".utf8))
    }

    /// A text progress bar of `width` cells.
    static func bar(_ fraction: Double, width: Int = 24) -> String {
        let f = max(0, min(1, fraction))
        let filled = Int((f * Double(width)).rounded())
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
    }
}
