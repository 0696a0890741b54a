/// A command's options, declared once: parsing and `--help` both come from it.
struct CommandSpec {
    struct Option {
        var names: [String]
        var valueName: String?
        var help: String
        var repeatable = false

        var takesValue: Bool { valueName != nil }
    }

    var name: String
    var synopsis: String
    var summary: String
    var options: [Option]
    var details: String = ""

    var help: String {
        var text = "usage: urgencyiq \(synopsis)\n\n\(summary)\n"
        if !options.isEmpty {
            text += "\noptions:\n"
            let all = options + [Option(names: ["-h", "--help"], help: "show this help")]
            let labels = all.map { option in
                option.names.joined(separator: ", ") + (option.valueName.map { " \($0)" } ?? "")
            }
            let width = (labels.map(\.count).max() ?? 0) + 2
            for (label, option) in zip(labels, all) {
                text += "  " + label.padding(toLength: width, withPad: " ", startingAt: 0) + option.help + "\n"
            }
        }
        if !details.isEmpty { text += "\n" + details + "\n" }
        return text
    }
}

/// A usage mistake on the command line: exit status 2 with the message and a pointer to `--help`.
struct UsageError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Parsed command-line arguments: option values by their first long name, flags, and positionals.
struct ParsedArguments {
    var values: [String: [String]] = [:]
    var flags: Set<String> = []
    var positionals: [String] = []
    var wantsHelp = false

    func value(_ name: String) -> String? { values[name]?.last }
    func all(_ name: String) -> [String] { values[name] ?? [] }
    func flag(_ name: String) -> Bool { flags.contains(name) }

    /// Parses `arguments` against `spec`; options may come before or after positionals, `--` ends options.
    init(_ arguments: [String], spec: CommandSpec) throws(UsageError) {
        var index = 0
        var optionsEnded = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if optionsEnded || !argument.hasPrefix("-") || argument == "-" {
                positionals.append(argument)
                continue
            }
            if argument == "--" {
                optionsEnded = true
                continue
            }
            if argument == "-h" || argument == "--help" {
                wantsHelp = true
                continue
            }
            var name = argument
            var inlineValue: String?
            if let equals = argument.firstIndex(of: "="), argument.hasPrefix("--") {
                name = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            guard let option = spec.options.first(where: { $0.names.contains(name) }) else {
                throw UsageError(message: "unknown option \(name) for '\(spec.name)'")
            }
            let key = option.names.last!
            if option.takesValue {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard index < arguments.count else {
                        throw UsageError(message: "\(name) needs a value (\(option.valueName!))")
                    }
                    value = arguments[index]
                    index += 1
                }
                values[key, default: []].append(value)
            } else {
                guard inlineValue == nil else { throw UsageError(message: "\(name) takes no value") }
                flags.insert(key)
            }
        }
    }

    /// An integer option value within `range`, or `fallback` when absent.
    func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws(UsageError) -> Int {
        guard let text = value(name) else { return fallback }
        guard let number = Int(text), range.contains(number) else {
            throw UsageError(message: "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return number
    }
}
