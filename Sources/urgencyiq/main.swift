import Foundation
import Server

/// `urgencyiq`: the command-line entry point. Each verb lives in its own file; this only dispatches.
let commands: [(spec: CommandSpec, run: (ParsedArguments) -> Int32)] = [
    (ScoreCommand.spec, ScoreCommand.run),
    (CheckCommand.spec, CheckCommand.run),
    (ServeCommand.spec, ServeCommand.run),
    (ImportCommand.spec, ImportCommand.run),
    (RescoreCommand.spec, RescoreCommand.run),
    (KeysCommand.spec, KeysCommand.run),
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
    text += "  " + "version".padding(toLength: 10, withPad: " ", startingAt: 0) + "Print the version and the libraries it runs on.\n"
    text += "\nRun 'urgencyiq help COMMAND' (or 'urgencyiq COMMAND --help') for a command's options.\n"
    return text
}

var argv = Array(CommandLine.arguments.dropFirst())
if argv.first == "--version" || argv.first == "version" {
    Terminal.write(BuildInfo.text)
    Terminal.flush()
    exit(0)
}
// `urgencyiq help COMMAND` is `urgencyiq COMMAND --help`.
if argv.count == 2, argv[0] == "help", commands.contains(where: { $0.spec.name == argv[1] }) { argv = [argv[1], "--help"] }
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
