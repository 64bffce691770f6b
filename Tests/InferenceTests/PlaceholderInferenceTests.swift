import Testing

@Test func placeholderInferenceTests() { #expect(1 + 1 == 2) }
