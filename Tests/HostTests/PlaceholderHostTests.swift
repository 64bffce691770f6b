import Testing

@Test func placeholderHostTests() { #expect(1 + 1 == 2) }
