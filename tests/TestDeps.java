// The test suite's dependency versions, pinned once, for tests/ only (lib/Deps.java pins the
// toolkit's; the scripts do not carry these). RunTests pulls this file in through //SOURCES.
// JUnit 5, as asked: its BOM keeps the launcher and the Jupiter engine on one release.
//DEPS org.junit:junit-bom:5.14.4@pom
//DEPS org.junit.jupiter:junit-jupiter
//DEPS org.junit.platform:junit-platform-launcher
//DEPS org.testcontainers:testcontainers:2.0.5
final class TestDeps {
    private TestDeps() {}
}
