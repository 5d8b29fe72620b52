import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * An OpenSSH client config (~/.ssh/config) read as ssh_config(5) says: the first value obtained for a
 * keyword wins, Host patterns with wildcards and negation, Include with globs. Match blocks are not
 * evaluated: they never apply and every lookup reports them in {@link Entry#unsupported()}.
 */
final class SshConfig {
    static final Set<String> SUPPORTED = Set.of("hostname", "port", "user", "identityfile", "identitiesonly",
            "identityagent", "proxyjump", "connecttimeout", "serveraliveinterval", "serveralivecountmax",
            "stricthostkeychecking", "userknownhostsfile", "hostkeyalias", "pubkeyacceptedalgorithms",
            "hostkeyalgorithms", "kexalgorithms", "ciphers", "macs", "passwordauthentication", "batchmode",
            "host", "match", "include");

    /** Every applicable value of these counts, in order, instead of only the first. */
    private static final Set<String> ACCUMULATING = Set.of("identityfile", "certificatefile", "localforward",
            "remoteforward", "dynamicforward", "sendenv");
    /** OpenSSH keeps the rest of the line verbatim for these: it is a shell command, quotes included. */
    private static final Set<String> RAW = Set.of("proxycommand", "localcommand", "remotecommand", "knownhostscommand");
    private static final int MAX_INCLUDE_DEPTH = 16;

    private final List<Directive> directives;

    private SshConfig(List<Directive> directives) {
        this.directives = List.copyOf(directives);
    }

    /** Parses FILE; relative Include paths resolve against sshDir (normally ~/.ssh). */
    static SshConfig parse(Path file, Path sshDir) throws IOException {
        Reader reader = new Reader(sshDir);
        reader.read(file, null, null);
        return new SshConfig(reader.directives);
    }

    /** What applies to HOST (the name the user typed, e.g. an alias). */
    Entry lookup(String host) {
        String name = host.toLowerCase(Locale.ROOT);
        Entry entry = new Entry();
        for (Directive d : directives) {
            if (d.keyword.equals("match")) {
                entry.unsupported.add(d.describe());
            } else if (Section.applies(d.section, name)) {
                if (!SUPPORTED.contains(d.keyword)) {
                    entry.unsupported.add(d.describe());
                }
                entry.add(d);
            }
        }
        return entry;
    }

    /** The Host names without wildcards or negation, in file order: the aliases a user can type. */
    List<String> aliases() {
        Set<String> names = new LinkedHashSet<>();
        for (Directive d : directives) {
            if (d.section != null && !d.section.never) {
                d.section.patterns.stream().filter(p -> p.chars().noneMatch(c -> c == '*' || c == '?' || c == '!')).forEach(names::add);
            }
        }
        return List.copyOf(names);
    }

    static final class Entry {
        private final Map<String, List<Value>> values = new LinkedHashMap<>();
        private final List<String> unsupported = new ArrayList<>();

        private record Value(String text, String origin) {}

        /** The first value obtained for KEYWORD (case-insensitive), or null. */
        String get(String keyword) {
            List<Value> found = values.get(keyword.toLowerCase(Locale.ROOT));
            return found == null ? null : found.get(0).text;
        }

        /** Every value of an accumulating keyword (IdentityFile, LocalForward...), in order. */
        List<String> getAll(String keyword) {
            return values.getOrDefault(keyword.toLowerCase(Locale.ROOT), List.of()).stream().map(Value::text).toList();
        }

        /** "file:line" of the value get() returns, or null. */
        String origin(String keyword) {
            List<Value> found = values.get(keyword.toLowerCase(Locale.ROOT));
            return found == null ? null : found.get(0).origin;
        }

        /** "Keyword (file:line)" for each applied keyword outside SUPPORTED, and for every Match line. */
        List<String> unsupported() {
            return List.copyOf(unsupported);
        }

        private void add(Directive d) {
            List<Value> list = values.computeIfAbsent(d.keyword, k -> new ArrayList<>());
            if (list.isEmpty() || ACCUMULATING.contains(d.keyword)) {
                d.values.forEach(v -> list.add(new Value(v, d.origin)));
            }
        }
    }

    /** Expands %d (local home), %u (local user), %h (remote host name), %r (remote user), %p (port), %% and a leading ~ . */
    static String expandTokens(String value, String host, String remoteUser, int port) {
        String home = System.getProperty("user.home");
        StringBuilder out = new StringBuilder();
        int i = 0;
        if (value.equals("~") || value.startsWith("~/")) {
            out.append(home);
            i = 1;
        }
        for (; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c != '%') {
                out.append(c);
                continue;
            }
            if (++i == value.length()) {
                throw VpsException.config("'" + value + "' ends with a lone %", "write %% for a literal percent sign");
            }
            switch (value.charAt(i)) {
                case '%' -> out.append('%');
                case 'd' -> out.append(home);
                case 'u' -> out.append(System.getProperty("user.name"));
                case 'h' -> out.append(host);
                case 'r' -> out.append(remoteUser);
                case 'p' -> out.append(port);
                default -> throw VpsException.config("unknown token %" + value.charAt(i) + " in '" + value + "'",
                        "use only %d %u %h %r %p or %%");
            }
        }
        return out.toString();
    }

    /** OpenSSH algorithm list forms: "a,b" replaces DEFAULTS, "+a,b" appends, "-a,b*" removes (wildcards * and ?), "^a,b" puts first. Returns a comma list. */
    static String applyAlgorithmSpec(String defaults, String spec) {
        List<String> base = names(defaults);
        char op = spec.isEmpty() ? ' ' : spec.charAt(0);
        List<String> given = names("+-^".indexOf(op) >= 0 ? spec.substring(1) : spec);
        Set<String> result = new LinkedHashSet<>();
        switch (op) {
            case '+' -> { result.addAll(base); result.addAll(given); }
            case '^' -> { result.addAll(given); result.addAll(base); }
            case '-' -> base.stream().filter(a -> given.stream().noneMatch(p -> wildcard(p, a))).forEach(result::add);
            default -> result.addAll(given);
        }
        return String.join(",", result);
    }

    private static List<String> names(String commaList) {
        return List.of(commaList.split(",")).stream().map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    /** Case-sensitive match of TEXT against PATTERN, where * is any run and ? any one character. */
    static boolean wildcard(String pattern, String text) {
        StringBuilder regex = new StringBuilder();
        for (char c : pattern.toCharArray()) {
            regex.append(c == '*' ? ".*" : c == '?' ? "." : Pattern.quote(String.valueOf(c)));
        }
        return Pattern.compile(regex.toString(), Pattern.DOTALL).matcher(text).matches();
    }

    private static VpsException syntax(String where, String what, String hint) {
        return VpsException.config("ssh config " + where + ": " + what, hint);
    }

    /** A Host or Match block; PARENT is the block holding the Include that brought this one in, if any. */
    private record Section(List<String> patterns, boolean never, Section parent) {
        static boolean applies(Section s, String host) {
            return s == null || (s.matches(host) && applies(s.parent, host));
        }

        /** A negated pattern that matches rules the block out, whatever else matches. */
        private boolean matches(String host) {
            boolean positive = false;
            for (String p : never ? List.<String>of() : patterns) {
                boolean negated = p.startsWith("!");
                if (wildcard(negated ? p.substring(1) : p, host)) {
                    if (negated) {
                        return false;
                    }
                    positive = true;
                }
            }
            return positive;
        }
    }

    private record Directive(String name, String keyword, List<String> values, String origin, Section section) {
        String describe() {
            return name + " (" + origin + ")";
        }
    }

    /** Reads one file and, depth first, what it includes, into one ordered list of directives. */
    private static final class Reader {
        final Path sshDir;
        final List<Directive> directives = new ArrayList<>();
        final Deque<Path> reading = new ArrayDeque<>();

        Reader(Path sshDir) {
            this.sshDir = sshDir;
        }

        void read(Path file, Section context, String includedAt) throws IOException {
            Path real = file.toRealPath();
            if (reading.contains(real)) {
                throw syntax(includedAt, "Include cycle: " + file + " is already being read",
                        "remove the Include that leads back to " + file);
            }
            if (reading.size() > MAX_INCLUDE_DEPTH) {
                throw syntax(includedAt, "Include nested more than " + MAX_INCLUDE_DEPTH + " deep", "flatten the Include chain");
            }
            reading.push(real);
            String text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
            List<String> lines = (text.startsWith("\uFEFF") ? text.substring(1) : text).lines().toList();
            Section section = context;
            for (int i = 0; i < lines.size(); i++) {
                section = line(lines.get(i).strip(), file + ":" + (i + 1), context, section);
            }
            reading.pop();
        }

        /** Handles one line and returns the block that the following lines belong to. */
        private Section line(String line, String where, Section context, Section section) throws IOException {
            if (line.isEmpty() || line.startsWith("#")) {
                return section;
            }
            int end = 0;
            while (end < line.length() && !Character.isWhitespace(line.charAt(end)) && line.charAt(end) != '=') {
                end++;
            }
            String name = line.substring(0, end);
            String rest = line.substring(end).stripLeading();
            rest = rest.startsWith("=") ? rest.substring(1).stripLeading() : rest;
            String keyword = name.toLowerCase(Locale.ROOT);
            if (name.isEmpty()) {
                throw syntax(where, "a line starts with '='", "write Keyword=value");
            }
            List<String> args = RAW.contains(keyword) ? (rest.isEmpty() ? List.of() : List.of(rest)) : split(rest, where);
            if (args.isEmpty() || args.get(0).isEmpty()) {
                throw syntax(where, name + " has no value", "give " + name + " a value or delete that line");
            }
            switch (keyword) {
                case "host" -> {
                    List<String> patterns = args.stream().flatMap(a -> names(a.toLowerCase(Locale.ROOT)).stream()).toList();
                    return new Section(patterns, false, context);
                }
                case "match" -> {
                    directives.add(new Directive(name, keyword, args, where, section));
                    return new Section(List.of(), true, context);
                }
                case "include" -> {
                    for (String arg : args) {
                        for (Path included : glob(sshDir.resolve(expandHome(arg)).toAbsolutePath(), where)) {
                            read(included, section, where);
                        }
                    }
                    return section;
                }
                default -> {
                    check(keyword, name, args, where);
                    List<String> values = keyword.equals("sendenv") ? args : List.of(String.join(" ", args));
                    directives.add(new Directive(name, keyword, values, where, section));
                    return section;
                }
            }
        }

        private static void check(String keyword, String name, List<String> args, String where) {
            // UserKnownHostsFile may list several files; they stay space-separated in the value.
            if (SUPPORTED.contains(keyword) && !keyword.equals("userknownhostsfile") && args.size() > 1) {
                throw syntax(where, name + " takes one value, got " + args.size(), "quote a value that contains spaces");
            }
            String port = args.get(0);
            if (keyword.equals("port") && (!port.matches("[0-9]{1,5}") || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535)) {
                throw syntax(where, "Port '" + port + "' is not a number from 1 to 65535", "fix the port number");
            }
        }

        private static String expandHome(String path) {
            return path.equals("~") || path.startsWith("~/") ? System.getProperty("user.home") + path.substring(1) : path;
        }

        /** Splits like OpenSSH's argv_split: blanks separate, quotes group, '#' starting a word ends the line. */
        private static List<String> split(String s, String where) {
            List<String> args = new ArrayList<>();
            int i = 0;
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c == ' ' || c == '\t') {
                    i++;
                    continue;
                }
                if (c == '#') {
                    break;
                }
                StringBuilder arg = new StringBuilder();
                char quote = 0;
                for (; i < s.length(); i++) {
                    c = s.charAt(i);
                    char next = i + 1 < s.length() ? s.charAt(i + 1) : 0;
                    if (c == '\\' && (next == '"' || next == '\'' || next == '\\' || (quote == 0 && next == ' '))) {
                        arg.append(s.charAt(++i));
                    } else if (quote == 0 && (c == ' ' || c == '\t')) {
                        break;
                    } else if (quote == 0 && (c == '"' || c == '\'')) {
                        quote = c;
                    } else if (quote != 0 && c == quote) {
                        quote = 0;
                    } else {
                        arg.append(c);
                    }
                }
                if (quote != 0) {
                    throw syntax(where, "unterminated " + quote + " quote", "close the quote, or escape it as \\" + quote);
                }
                args.add(arg.toString());
            }
            return args;
        }

        /** Regular files matching PATTERN (globs in any component), sorted; nothing if none exist, as OpenSSH. */
        private static List<Path> glob(Path pattern, String where) {
            List<Path> found = new ArrayList<>(List.of(pattern.getRoot()));
            for (Path component : pattern) {
                String name = component.toString();
                List<Path> next = new ArrayList<>();
                for (Path dir : found) {
                    if (name.chars().noneMatch(ch -> ch == '*' || ch == '?' || ch == '[')) {
                        next.add(dir.resolve(name));
                        continue;
                    }
                    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, name)) {
                        // Like glob(3), a wildcard does not match a leading dot (editor backups, .swp files).
                        entries.forEach(p -> {
                            if (name.startsWith(".") || !p.getFileName().toString().startsWith(".")) {
                                next.add(p);
                            }
                        });
                    } catch (PatternSyntaxException e) {
                        throw syntax(where, "bad Include pattern '" + pattern + "': " + e.getDescription(), "fix the glob pattern");
                    } catch (IOException unreadableOrMissing) {
                        // glob(3) skips directories it cannot read; OpenSSH then includes nothing.
                    }
                }
                found = next;
            }
            found.removeIf(p -> !Files.isRegularFile(p));
            found.sort(Comparator.comparing(Path::toString));
            return found;
        }
    }
}
