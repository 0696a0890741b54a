import Foundation

/// `urgencyiq`: the command-line entry point. Each verb lives in its own file; this only dispatches.
let commands: [(spec: CommandSpec, run: (ParsedArguments) -> Int32)] = [
    (ScoreCommand.spec, ScoreCommand.run),
    (CheckCommand.spec, CheckCommand.run),
    (ServeCommand.spec, ServeCommand.run),
    (ImportCommand.spec, ImportCommand.run),
    (RescoreCommand.spec, RescoreCommand.run),
    (BenchCommand.spec, BenchCommand.run),
]

@MainActor
func mainHelp() -> String {
    var text = """
    urgencyiq: turns customer-support messages into prioritized tickets, scored by hot-reloadable Lua rules.

    usage: urgencyiq COMMAND [OPTIONS]

    commands:

    """
    for (spec, _) in commands {
        text += "  " + spec.name.padding(toLength: 10, withPad: " ", startingAt: 0) + spec.summary + "\n"
    }
    text += "\nRun 'urgencyiq COMMAND --help' for a command's options.\n"
    return text
}

let argv = Array(CommandLine.arguments.dropFirst())
guard let verb = argv.first, verb != "-h", verb != "--help", verb != "help" else {
    Terminal.write(mainHelp())
    Terminal.flush()
    exit(argv.isEmpty ? 2 : 0)
}
guard let command = commands.first(where: { $0.spec.name == verb }) else {
    Terminal.error("urgencyiq: unknown command '\(verb)'\n\n" + mainHelp())
    exit(2)
}
do {
    let arguments = try ParsedArguments(Array(argv.dropFirst()), spec: command.spec)
    if arguments.wantsHelp {
        Terminal.write(command.spec.help)
        Terminal.flush()
        exit(0)
    }
    let status = command.run(arguments)
    Terminal.flush()
    exit(status)
} catch {
    Terminal.error("urgencyiq \(verb): \(error.message)\nRun 'urgencyiq \(verb) --help' for usage.")
    exit(2)
}
