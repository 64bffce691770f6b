import LuaRuntime
import Testing

@Suite("Recipe arguments: key=value pairs, extras after --, typed helpers")
struct RecipeArgumentsTests {
    @Test("Pairs and extras are parsed")
    func parsing() throws {
        let arguments = try RecipeArguments(parsing: [
            "seqlen=128", "name=a=b", "empty=", "--", "x", "key=not-a-pair", "--",
        ])
        #expect(arguments.named == ["seqlen": "128", "name": "a=b", "empty": ""])
        #expect(arguments.positional == ["x", "key=not-a-pair", "--"])
    }

    @Test(
        "Malformed words are refused",
        arguments: [
            (["stray"], "expected key=value, got 'stray' (put other arguments after --)"),
            (["=1"], "invalid argument name '' (use letters, digits, '_', '-' and '.')"),
            (["a b=1"], "invalid argument name 'a b' (use letters, digits, '_', '-' and '.')"),
            (["k=1", "k=2"], "argument 'k' is given twice"),
            (["number=3"], "argument name 'number' is reserved (it names a helper of shears.args)"),
        ])
    func refused(words: [String], message: String) {
        #expect(throws: RecipeArgumentError(message)) { try RecipeArguments(parsing: words) }
    }

    private func run(_ source: String, _ words: [String]) throws -> (lines: [String], error: String?) {
        let fixture = try RecipeFixture()
        let runtime = try fixture.runtime()
        do {
            try runtime.run(source: source, name: "recipe.lua", arguments: RecipeArguments(parsing: words))
            return (fixture.output.texts(.print), nil)
        } catch let error as RecipeRuntimeError {
            return (fixture.output.texts(.print), error.message)
        }
    }

    @Test("The table holds strings and extras")
    func table() throws {
        let result = try run(
            "print(shears.args.seqlen, math.type(shears.args.seqlen), #shears.args, shears.args[1], shears.args.missing)",
            ["seqlen=128", "--", "extra"])
        #expect(result.lines == ["128\tnil\t1\textra\tnil"])
    }

    @Test("Helpers convert values and apply defaults")
    func helpers() throws {
        let source = """
            local a = shears.args
            print(a:integer('n', 1), a:integer('big', 0), a:number('lr', 0), a:number('hex', 0), a:boolean('quick', false),
                  a:boolean('off', true), a:string('name', 'x'), a:integer('absent', 7), a:boolean('absent', true), a:string('absent', 'dflt'))
            """
        let result = try run(source, ["n=42", "big=1e3", "lr=2.5e-3", "hex=0x10", "quick=yes", "off=OFF", "name=run1"])
        #expect(result.error == nil)
        #expect(result.lines == ["42\t1000\t0.0025\t16\ttrue\tfalse\trun1\t7\ttrue\tdflt"])
    }

    @Test(
        "Helper errors are clear",
        arguments: [
            ("shears.args:integer('n')", ["n=abc"], "recipe.lua:1: argument 'n' must be an integer, got 'abc'"),
            ("shears.args:integer('n')", ["n=1.5"], "recipe.lua:1: argument 'n' must be an integer, got '1.5'"),
            ("shears.args:number('lr')", ["lr=fast"], "recipe.lua:1: argument 'lr' must be a number, got 'fast'"),
            ("shears.args:boolean('q')", ["q=maybe"], "recipe.lua:1: argument 'q' must be true or false, got 'maybe'"),
            ("shears.args:number('lr')", [], "recipe.lua:1: missing argument 'lr' (pass lr=VALUE)"),
            (
                "shears.args:integer('n', 'ten')", [],
                "recipe.lua:1: bad argument #2 to 'integer' (number expected, got string)"
            ),
            ("shears.args:string()", [], "recipe.lua:1: bad argument #1 to 'string' (string expected, got no value)"),
            (
                "shears.args.number('n', 1)", [],
                "recipe.lua:1: bad argument #1 to 'number' (table expected, got string)"
            ),
        ])
    func helperErrors(source: String, words: [String], message: String) throws {
        #expect(try run(source, words).error == message)
    }
}
