/// Synthetic support messages for benchmarks, generated from our own phrase lists (deterministic per seed):
/// greetings, loan and account topics, SMS spellings, Swahili/Sheng, durations, question marks and pleas.
enum BenchCorpus {
    private static let openings = [
        "Hi", "Hello", "Good morning", "Habari", "Hey team", "Dear support", "Sasa", "", "Niaje", "Good evening",
    ]
    private static let bodies = [
        "why was my loan application rejected", "I cant access my account since yesterday",
        "when will my loan be disbursed", "I will pay on friday", "thank you for the quick help",
        "how do I change my phone number", "my salary delayed so I request more time", "someone used my id to borrow",
        "I have cleared my loan but the system says I owe", "nimelipa deni lakini bado naona balance",
        "please send me the batch number for clearance", "the app keeps showing an error when I login",
        "my account was blocked without notice", "I need information about weekly payment options",
        "pesa haijaingia na imepita siku 3", "can you increase my limit", "ok noted",
        "I was charged a penalty even though I paid early", "hi am waiting for my loan approval since morning",
        "kindly advise on the crb listing", "I paid part of the loan yesterday", "am unable to access the app",
        "there is a wrong balance on my statement", "why is my limit so low", "nataka kujua kwa nini nimekataliwa",
        "fraud! someone took money from my mpesa", "what happened to my application, was it denied",
        "I will clear the balance within a week", "the loan was approved but not received",
    ]
    private static let tails = [
        "", "", "?", "??", "???", " please", " plz", " PLS help", " asap", " 🙏", " 😊", " for 2 weeks now",
        " for 3 days", " since 5 months", ". Thanks", " tafadhali", " bana", "!!!",
    ]

    static func generate(count: Int, seed: UInt64) -> [String] {
        var state = seed
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        return (0..<count).map { _ in
            var text = openings[next(openings.count)]
            if !text.isEmpty { text += next(2) == 0 ? ", " : " " }
            text += bodies[next(bodies.count)]
            if next(4) == 0 { text += ". " + bodies[next(bodies.count)] }
            text += tails[next(tails.count)]
            if next(6) == 0 { text = text.uppercased() }
            return text
        }
    }
}
