import Testing
import Tokenization

@Suite struct PreTokenizerTests {
    @Test func gpt2Contractions() {
        #expect(
            PreTokenizer.gpt2.split("I'm sure they'll say it's fine, we'd've")
                == ["I", "'m", " sure", " they", "'ll", " say", " it", "'s", " fine", ",", " we", "'d", "'ve"])
        #expect(
            PreTokenizer.gpt2.split("you're, we've, don't") == ["you", "'re", ",", " we", "'ve", ",", " don", "'t"])
        // Upper-case contractions are not contractions for GPT-2: the apostrophe is punctuation.
        #expect(PreTokenizer.gpt2.split("I'M YOU'RE DON'T") == ["I", "'", "M", " YOU", "'", "RE", " DON", "'", "T"])
        #expect(PreTokenizer.gpt2.split("'x' '") == ["'", "x", "'", " '"])
    }

    @Test func gpt2WhitespaceRuns() {
        #expect(PreTokenizer.gpt2.split("a  b") == ["a", " ", " b"])
        #expect(PreTokenizer.gpt2.split("a   b") == ["a", "  ", " b"])
        #expect(PreTokenizer.gpt2.split("a\n\nb") == ["a", "\n", "\n", "b"])
        #expect(PreTokenizer.gpt2.split("a \n b") == ["a", " \n", " b"])
        #expect(PreTokenizer.gpt2.split("end  ") == ["end", "  "])
        #expect(PreTokenizer.gpt2.split("end ") == ["end", " "])
        #expect(PreTokenizer.gpt2.split("  \tx") == ["  ", "\t", "x"])
        #expect(PreTokenizer.gpt2.split("") == [])
    }

    @Test func gpt2Classes() {
        #expect(
            PreTokenizer.gpt2.split("Hello, world! 12345 abc123") == [
                "Hello", ",", " world", "!", " 12345", " abc", "123",
            ])
        #expect(PreTokenizer.gpt2.split(" ... ?!") == [" ...", " ?!"])
        #expect(PreTokenizer.gpt2.split("日本語のテキスト") == ["日本語のテキスト"])
        #expect(PreTokenizer.gpt2.split("hi 😀😀 there") == ["hi", " 😀😀", " there"])
        #expect(PreTokenizer.gpt2.split("café naïve ½") == ["café", " naïve", " ½"])
    }

    @Test func smollmIsolatesDigits() {
        #expect(
            PreTokenizer.smollm.split("in 2024, 3.14") == ["in", " ", "2", "0", "2", "4", ",", " ", "3", ".", "1", "4"])
        #expect(PreTokenizer.smollm.split("abc123def") == ["abc", "1", "2", "3", "def"])
        // The digit ends the piece, so a whitespace run before it is kept whole.
        #expect(PreTokenizer.smollm.split("a  1") == ["a", "  ", "1"])
        #expect(PreTokenizer.smollm.split("it's 'S") == ["it", "'s", " '", "S"])
        #expect(PreTokenizer.smollm.split("x ½ ٣") == ["x", " ", "½", " ", "٣"])
    }

    @Test func llama3Contractions() {
        #expect(
            PreTokenizer.llamaBPE.split("I'M you'Re it's WE'LL") == [
                "I", "'M", " you", "'Re", " it", "'s", " WE", "'LL",
            ])
        #expect(PreTokenizer.llamaBPE.split("don'T they'd've") == ["don", "'T", " they", "'d", "'ve"])
    }

    @Test func llama3Classes() {
        #expect(PreTokenizer.llamaBPE.split("12345678 x") == ["123", "456", "78", " x"])
        #expect(PreTokenizer.llamaBPE.split("(hello) world") == ["(hello", ")", " world"])
        #expect(PreTokenizer.llamaBPE.split("a.\n\nb") == ["a", ".\n\n", "b"])
        #expect(PreTokenizer.llamaBPE.split("a \n \n  b") == ["a", " \n \n", " ", " b"])
        #expect(PreTokenizer.llamaBPE.split("x   ") == ["x", "   "])
        #expect(PreTokenizer.llamaBPE.split("\tword 中文") == ["\tword", " 中文"])
        #expect(PreTokenizer.llamaBPE.split("🙂🙂 ok") == ["🙂🙂", " ok"])
    }

    @Test func qwen2SingleDigits() {
        #expect(PreTokenizer.qwen2.split("x 2024") == ["x", " ", "2", "0", "2", "4"])
        #expect(PreTokenizer.qwen2.split("I'LL go") == ["I", "'LL", " go"])
    }

    @Test func namesAndAliases() throws {
        #expect(try PreTokenizer(name: "smollm") == .smollm)
        #expect(try PreTokenizer(name: "default") == .gpt2)
        #expect(try PreTokenizer(name: "llama3") == .llamaBPE)
        #expect(try PreTokenizer(name: "llama-bpe") == .llamaBPE)
        #expect(try PreTokenizer(name: "qwen2") == .qwen2)
        #expect(throws: TokenizerError.self) { try PreTokenizer(name: "deepseek-coder") }
        do {
            _ = try PreTokenizer(name: "tekken")
        } catch {
            #expect(error.message.contains("'tekken'") && error.message.contains("smollm"))
        }
    }
}
