// TerminalProtocol
