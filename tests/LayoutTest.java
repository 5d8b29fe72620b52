import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The layout shows the architecture (README "How it is built"): lib/ is arranged by concept, a lib
 * file pulls nothing in, and a script's //SOURCES names only lib files it uses. A missing file is
 * a compile error; this catches the other way round, which nothing else would. tools/restructure.py
 * rewrites the //SOURCES lines when this fails.
 */
class LayoutTest {
    static final Path ROOT = EndToEndTest.ROOT.normalize();
    static final Set<String> PINS = Set.of("Deps.java", "McpDeps.java");
    /**
     * Code without comments; a string literal stays only when it is exactly a name (a main class handed to `java`).
     * A text block is matched a run of plain characters at a time: one regex step per character overflowed the stack on long ones.
     */
    static final Pattern TOKEN = Pattern.compile("\"\"\"(?:[^\\\\\"]++|\\\\.|\"(?!\"\"))*+\"\"\"|\"(?:\\\\.|[^\"\\\\\\n])*\"|'(?:\\\\.|[^'\\\\\\n])*'"
            + "|//[^\\n]*|/\\*.*?\\*/|[A-Za-z_$][\\w$]*", Pattern.DOTALL);

    @Test
    void libFilesLiveInConceptFoldersAndPullNothingIn() throws IOException {
        List<String> wrong = new ArrayList<>();
        for (Path p : libFiles()) {
            String name = ROOT.resolve("lib").relativize(p).toString();
            if (p.getParent().equals(ROOT.resolve("lib")) && !PINS.contains(name)) {
                wrong.add(name + " is not in a concept folder");
            }
            for (String line : Files.readAllLines(p)) {
                if (line.startsWith("//SOURCES") || line.startsWith("//DEPS") && !PINS.contains(p.getFileName().toString())) {
                    wrong.add(name + ": " + line);
                }
            }
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void everyScriptNamesOnlyTheLibFilesItUses() throws IOException {
        List<String> unused = new ArrayList<>();
        try (Stream<Path> scripts = Files.list(ROOT.resolve("scripts"))) {
            for (Path script : scripts.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                Set<Path> listed = new HashSet<>(listedLibFiles(script));
                Set<Path> reached = reachable(script, listed);
                listed.stream().filter(p -> !reached.contains(p) && !PINS.contains(p.getFileName().toString()))
                        .map(p -> ROOT.relativize(script) + " names " + ROOT.relativize(p) + " but does not use it").sorted()
                        .forEach(unused::add);
            }
        }
        assertEquals(List.of(), unused);
    }

    /**
     * The listed files the script reaches through the names it uses, and the names they use, and so on.
     * The scripts it pulls in (the engine runs the others' commands) speak for it.
     */
    static Set<Path> reachable(Path script, Set<Path> listed) throws IOException {
        Set<Path> reached = new HashSet<>();
        Deque<Path> todo = new ArrayDeque<>(ownFiles(script, new HashSet<>()));
        while (!todo.isEmpty()) {
            Set<String> names = names(Files.readString(todo.pop()));
            for (Path p : listed) {
                if (!reached.contains(p) && names.contains(p.getFileName().toString().replace(".java", ""))) {
                    reached.add(p);
                    todo.push(p);
                }
            }
        }
        return reached;
    }

    static Set<String> names(String code) {
        Set<String> names = new HashSet<>();
        Matcher m = TOKEN.matcher(code);
        while (m.find()) {
            String t = m.group();
            if (t.startsWith("\"")) {
                String inner = t.replaceAll("^\"+|\"+$", "");
                if (inner.matches("[A-Za-z_$][\\w$]*")) {
                    names.add(inner);
                }
            } else if (!t.startsWith("/") && !t.startsWith("'")) {
                names.add(t);
            }
        }
        return names;
    }

    /** The script and the files outside lib/ that its //SOURCES names, transitively. */
    static Set<Path> ownFiles(Path file, Set<Path> seen) throws IOException {
        if (seen.add(file)) {
            for (Path p : sources(file)) {
                if (!p.startsWith(ROOT.resolve("lib"))) {
                    ownFiles(p, seen);
                }
            }
        }
        return seen;
    }

    static List<Path> listedLibFiles(Path script) throws IOException {
        return sources(script).stream().filter(p -> p.startsWith(ROOT.resolve("lib"))).toList();
    }

    static List<Path> sources(Path file) throws IOException {
        List<Path> files = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            if (line.startsWith("//SOURCES ")) {
                for (String entry : line.substring("//SOURCES ".length()).trim().split("\\s+")) {
                    files.add(file.getParent().resolve(entry).normalize());
                }
            }
        }
        return files;
    }

    static List<Path> libFiles() throws IOException {
        try (Stream<Path> all = Files.walk(ROOT.resolve("lib"))) {
            return all.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
    }
}
