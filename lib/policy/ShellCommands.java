import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A POSIX shell command line taken apart into every simple command it would run: lists, pipelines,
 * subshells, { } groups, $( ) and backticks, &lt;( ) &gt;( ), heredoc bodies, `sh -c STRING` (parsed
 * again), and the command after a prefix (env, sudo, xargs, nice, ...). What a reader cannot be certain
 * of (eval, source, a command word that is a variable, an interpreter's -c/-e program, unbalanced quotes,
 * non-ASCII command words, a line over 64 KiB) is listed in {@link Parsed#uncertain}: a policy never
 * counts such a line as allowed. Words are given after quote removal; expansions stay as written.
 */
final class ShellCommands {
    static final int MAX_LINE = 64 * 1024;
    private static final int MAX_DEPTH = 8;

    /** A redirection: its operator (">", ">>", "<", "<<<", "2>", "&>", ...) and its target word. */
    record Redirect(String op, String target) {
        /** Writes somewhere other than the null device or one of the call's own streams. */
        boolean writes() {
            boolean output = op.contains(">") && !op.startsWith("<<");
            if (!output) {
                return op.equals("<>");
            }
            if (op.endsWith(">&") || op.equals(">&")) {
                return !target.matches("[0-9-]+");
            }
            return !Set.of("/dev/null", "/dev/stdout", "/dev/stderr").contains(target);
        }
    }

    /**
     * One simple command: its words, NAME=VALUE assignments before it, its redirections, and, when its first
     * word is a prefix (env, sudo, ...), the command that prefix runs.
     */
    record Simple(List<String> words, List<String> assignments, List<Redirect> redirects, Simple inner) {
        String text() {
            return String.join(" ", words);
        }

        String program() {
            return words.isEmpty() ? "" : words.get(0);
        }
    }

    record Parsed(List<Simple> commands, List<String> uncertain) {
        boolean certain() {
            return uncertain.isEmpty();
        }
    }

    /** Prefixes that run the command after their options: program -> its options that take a value. */
    static final java.util.Map<String, Set<String>> PREFIXES = java.util.Map.ofEntries(
            java.util.Map.entry("env", Set.of("-u", "--unset", "-C", "--chdir", "-S", "--split-string")),
            java.util.Map.entry("sudo", Set.of("-u", "--user", "-g", "--group", "-C", "--close-from", "-D", "--chdir", "-h", "--host",
                    "-p", "--prompt", "-r", "--role", "-t", "--type", "-U", "--other-user", "-T", "--command-timeout")),
            java.util.Map.entry("doas", Set.of("-u", "-C")),
            java.util.Map.entry("xargs", Set.of("-a", "--arg-file", "-d", "--delimiter", "-E", "-e", "-I", "-i", "-L", "-l", "-n",
                    "--max-args", "-P", "--max-procs", "-s", "--max-chars", "--process-slot-var")),
            java.util.Map.entry("nice", Set.of("-n", "--adjustment")),
            java.util.Map.entry("nohup", Set.of()),
            java.util.Map.entry("timeout", Set.of("-s", "--signal", "-k", "--kill-after")),
            java.util.Map.entry("command", Set.of()),
            java.util.Map.entry("exec", Set.of("-a")),
            java.util.Map.entry("time", Set.of("-f", "--format", "-o", "--output")),
            java.util.Map.entry("stdbuf", Set.of("-i", "--input", "-o", "--output", "-e", "--error")),
            java.util.Map.entry("ionice", Set.of("-c", "--class", "-n", "--classdata", "-p", "--pid", "-P", "--pgid", "-u", "--uid")),
            java.util.Map.entry("setsid", Set.of()),
            java.util.Map.entry("chroot", Set.of("--userspec", "--groups")));

    /** Shells whose -c STRING is parsed again. */
    static final Set<String> SHELLS = Set.of("sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "rbash");
    /** Programs that run a program text of their own (-c, -e, or the first argument): never certain. */
    static final Set<String> INTERPRETERS = Set.of("python", "python2", "python3", "perl", "ruby", "node", "nodejs", "php",
            "lua", "tclsh", "wish", "pwsh", "powershell", "fish", "csh", "tcsh", "busybox", "awk", "gawk", "mawk", "nawk",
            "expect", "gdb", "jshell", "R", "Rscript", "osascript", "su", "runuser", "watch", "ssh", "parallel");
    private static final Set<String> UNCERTAIN_BUILTINS = Set.of("eval", "source", ".", "alias", "trap", "builtin", "enable",
            "hash", "fc", "coproc", "declare", "typeset", "readonly", "let", "local", "mapfile", "readarray", "read", "printf -v");
    private static final Set<String> RESERVED = Set.of("!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while", "until");
    /** Assignments that change which program runs or what a shell does before running it. */
    private static final java.util.regex.Pattern RISKY_ASSIGNMENT = java.util.regex.Pattern.compile(
            "(PATH|LD_\\w*|BASH_ENV|ENV|IFS|SHELLOPTS|BASHOPTS|PS4|PROMPT_COMMAND|BASH_FUNC\\w*|CDPATH|GLOBIGNORE|\\w*PAGER|EDITOR|VISUAL)=.*", java.util.regex.Pattern.DOTALL);

    private ShellCommands() {}

    static Parsed parse(String line) {
        List<Simple> commands = new ArrayList<>();
        List<String> uncertain = new ArrayList<>();
        if (line.length() > MAX_LINE) {
            uncertain.add("a command line over 64 KiB (" + line.length() + " characters) is not read");
            return new Parsed(commands, uncertain);
        }
        new Reader(line, commands, uncertain, 0).list(false);
        return new Parsed(List.copyOf(commands), List.copyOf(uncertain));
    }

    /** A word as the shell sees it: the text after quote removal, and whether any part of it is expanded when run. */
    private record Word(String text, boolean expands, boolean quoted) {}

    private static final class Reader {
        private final String s;
        private final List<Simple> out;
        private final List<String> uncertain;
        private final int depth;
        private int i;
        private final List<String> pendingHeredocs = new ArrayList<>();
        private final List<Boolean> pendingHeredocExpands = new ArrayList<>();

        Reader(String s, List<Simple> out, List<String> uncertain, int depth) {
            this.s = s;
            this.out = out;
            this.uncertain = uncertain;
            this.depth = depth;
            if (depth > MAX_DEPTH) {
                uncertain.add("substitutions nested deeper than " + MAX_DEPTH);
                i = s.length();
            }
        }

        /** Reads commands until the end, or (CLOSING) an unquoted ')' which it consumes. */
        void list(boolean closing) {
            List<Word> words = new ArrayList<>();
            List<Redirect> redirects = new ArrayList<>();
            while (true) {
                skipBlanks();
                if (i >= s.length()) {
                    if (closing) {
                        uncertain.add("an unclosed $( or (");
                    }
                    finish(words, redirects);
                    return;
                }
                char c = s.charAt(i);
                if (c == '#') {   // at a word's start: a comment to the end of the line
                    while (i < s.length() && s.charAt(i) != '\n') {
                        i++;
                    }
                    continue;
                }
                if (c == '\n') {
                    i++;
                    finish(words, redirects);
                    words = new ArrayList<>();
                    redirects = new ArrayList<>();
                    readHeredocBodies();
                    continue;
                }
                String op = redirectOperator();
                if (op != null) {
                    skipBlanks();
                    if (op.equals("<<") || op.equals("<<-")) {
                        Word delimiter = word();
                        pendingHeredocs.add(delimiter.text());
                        pendingHeredocExpands.add(!delimiter.quoted());
                        redirects.add(new Redirect(op, delimiter.text()));
                    } else {
                        Word target = word();
                        if (target.text().isEmpty() && !target.quoted()) {
                            uncertain.add("a redirection " + op + " without a target");
                        }
                        redirects.add(new Redirect(op, target.text()));
                    }
                    continue;
                }
                if (c == ';' || c == '&' || c == '|') {
                    i++;
                    while (i < s.length() && (s.charAt(i) == '&' || s.charAt(i) == '|' || s.charAt(i) == ';')) {
                        i++;
                    }
                    finish(words, redirects);
                    words = new ArrayList<>();
                    redirects = new ArrayList<>();
                    continue;
                }
                if (c == '(') {
                    if (!words.isEmpty()) {
                        uncertain.add("a function definition (" + words.get(0).text() + "()) changes what a command name runs");
                    }
                    i++;
                    if (i < s.length() && s.charAt(i) == '(') {
                        i++;
                        arithmetic();
                        continue;
                    }
                    finish(words, redirects);
                    words = new ArrayList<>();
                    redirects = new ArrayList<>();
                    list(true);
                    continue;
                }
                if (c == ')') {
                    i++;
                    if (closing) {
                        finish(words, redirects);
                        return;
                    }
                    uncertain.add("an unbalanced )");
                    continue;
                }
                words.add(word());
            }
        }

        private void finish(List<Word> words, List<Redirect> redirects) {
            if (words.isEmpty()) {
                if (!redirects.isEmpty()) {
                    out.add(new Simple(List.of(), List.of(), List.copyOf(redirects), null));
                }
                return;
            }
            int k = 0;
            while (k < words.size() && RESERVED.contains(words.get(k).text()) && !words.get(k).quoted()) {
                k++;
            }
            List<String> assignments = new ArrayList<>();
            while (k < words.size() && isAssignment(words.get(k))) {
                assignments.add(words.get(k).text());
                k++;
            }
            for (String a : assignments) {
                if (RISKY_ASSIGNMENT.matcher(a).matches()) {
                    uncertain.add("the assignment " + a.substring(0, a.indexOf('=')) + "= changes what runs");
                }
            }
            if (k == words.size()) {
                if (!redirects.isEmpty() || !assignments.isEmpty()) {
                    out.add(new Simple(List.of(), List.copyOf(assignments), List.copyOf(redirects), null));
                }
                return;
            }
            simple(words.subList(k, words.size()), assignments, List.copyOf(redirects), 0);
        }

        private static boolean isAssignment(Word w) {
            return w.text().matches("(?s)[A-Za-z_][A-Za-z0-9_]*\\+?=.*");
        }

        private Simple simple(List<Word> words, List<String> assignments, List<Redirect> redirects, int level) {
            Word first = words.get(0);
            List<String> texts = words.stream().map(Word::text).toList();
            String name = first.text();
            if (first.expands()) {
                uncertain.add("the command word " + name + " is a variable or a substitution");
            } else if (!name.chars().allMatch(ch -> ch > 32 && ch < 127)) {
                uncertain.add("the command word " + name + " has characters outside ASCII (a look-alike of another name?)");
            } else if (name.matches(".*[*?\\[].*")) {
                uncertain.add("the command word " + name + " is a pattern");
            }
            String program = programName(name);
            if (UNCERTAIN_BUILTINS.contains(program)) {
                uncertain.add(program + " runs or redefines what cannot be read here");
            }
            if (INTERPRETERS.contains(program) || program.matches("(python|perl|ruby|php|node|lua)[0-9.]*")) {
                uncertain.add(program + " runs a program of its own that a policy cannot read");
            }
            Simple inner = null;
            if (SHELLS.contains(program)) {
                shell(words);
            } else if (PREFIXES.containsKey(program) && level < MAX_DEPTH) {
                List<Word> rest = afterPrefix(program, words);
                if (rest != null && !rest.isEmpty()) {
                    inner = simple(rest, List.of(), redirects, level + 1);
                }
            }
            Simple me = new Simple(texts, List.copyOf(assignments), redirects, inner);
            if (level == 0) {
                out.add(me);   // a prefix's inner command is reached through its outer one
            }
            return me;
        }

        /** `sh -c STRING`: the string is read again when it is literal; a shell reading a file or stdin is not certain. */
        private void shell(List<Word> words) {
            for (int k = 1; k < words.size(); k++) {
                Word w = words.get(k);
                if (w.text().startsWith("-") && !w.text().startsWith("--") && w.text().contains("c")) {
                    if (k + 1 >= words.size()) {
                        uncertain.add(words.get(0).text() + " -c without a command");
                        return;
                    }
                    Word script = words.get(k + 1);
                    if (script.expands()) {
                        uncertain.add(words.get(0).text() + " -c runs a string made by an expansion");
                        return;
                    }
                    new Reader(script.text(), out, uncertain, depth + 1).list(false);
                    return;
                }
                if (!w.text().startsWith("-") && !w.text().startsWith("+")) {
                    break;
                }
            }
            uncertain.add(words.get(0).text() + " runs a script from a file or stdin that a policy cannot read");
        }

        /** The words after a prefix's own options (and, for env, its assignments; for timeout, the duration); null when unsure. */
        private List<Word> afterPrefix(String program, List<Word> words) {
            Set<String> withValue = PREFIXES.get(program);
            int k = 1;
            while (k < words.size()) {
                String w = words.get(k).text();
                if (w.equals("--")) {
                    k++;
                    break;
                }
                if (program.equals("env") && (w.equals("-S") || w.startsWith("--split-string") || w.startsWith("-S"))) {
                    uncertain.add("env -S splits a string into a command");
                    return null;
                }
                if (w.startsWith("-") && w.length() > 1) {
                    String opt = w.contains("=") ? w.substring(0, w.indexOf('=')) : w;
                    k += withValue.contains(opt) && !w.contains("=") ? 2 : 1;
                    continue;
                }
                if (program.equals("env") && w.matches("[A-Za-z_][A-Za-z0-9_]*=.*")) {
                    if (RISKY_ASSIGNMENT.matcher(w).matches()) {
                        uncertain.add("the assignment " + w.substring(0, w.indexOf('=')) + "= changes what runs");
                    }
                    k++;
                    continue;
                }
                break;
            }
            if (program.equals("timeout") && k < words.size()) {
                k++;   // the duration
            }
            if (program.equals("chroot") && k < words.size()) {
                k++;   // the new root
            }
            return k >= words.size() ? List.of() : words.subList(k, words.size());
        }

        private void readHeredocBodies() {
            for (int h = 0; h < pendingHeredocs.size(); h++) {
                String delimiter = pendingHeredocs.get(h);
                StringBuilder body = new StringBuilder();
                boolean closed = false;
                while (i < s.length()) {
                    int end = s.indexOf('\n', i);
                    String line = end < 0 ? s.substring(i) : s.substring(i, end);
                    i = end < 0 ? s.length() : end + 1;
                    if (line.replaceFirst("^\t+", "").equals(delimiter)) {
                        closed = true;
                        break;
                    }
                    body.append(line).append('\n');
                }
                if (!closed) {
                    uncertain.add("a heredoc without its end line " + delimiter);
                }
                if (pendingHeredocExpands.get(h)) {
                    new Reader(body.toString(), out, uncertain, depth + 1).expansionsOnly();
                }
            }
            pendingHeredocs.clear();
            pendingHeredocExpands.clear();
        }

        /** A heredoc body or $(( )): only its $( ), backticks and ${ } run anything. */
        void expansionsOnly() {
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c == '\\') {
                    i += 2;
                } else if (c == '$' || c == '`') {
                    dollarOrBacktick(new StringBuilder());
                } else {
                    i++;
                }
            }
        }

        private void arithmetic() {
            int start = i;
            int open = 2;
            while (i < s.length() && open > 0) {
                char c = s.charAt(i++);
                if (c == '(') {
                    open++;
                } else if (c == ')') {
                    open--;
                }
            }
            if (open > 0) {
                uncertain.add("an unclosed $((");
            }
            new Reader(s.substring(start, Math.max(start, i - 2)), out, uncertain, depth + 1).expansionsOnly();
        }

        private String redirectOperator() {
            int j = i;
            while (j < s.length() && Character.isDigit(s.charAt(j))) {
                j++;
            }
            if (j < s.length() && s.charAt(j) == '{' && j == i) {
                return null;
            }
            String[] ops = {"&>>", "&>", "<<<", "<<-", "<<", "<>", "<&", ">>", ">|", ">&", "<", ">"};
            for (String op : ops) {
                if (s.startsWith(op, j) && (j == i || !op.startsWith("&"))) {
                    String digits = s.substring(i, j);
                    if (op.equals("<") || op.equals(">")) {
                        if (s.startsWith("(", j + 1)) {
                            return null;   // <( ) and >( ): a process substitution, read as a word
                        }
                    }
                    i = j + op.length();
                    return digits + op;
                }
            }
            return null;
        }

        private void skipBlanks() {
            while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t' || s.startsWith("\\\n", i))) {
                i += s.charAt(i) == '\\' ? 2 : 1;
            }
        }

        private static boolean endsWord(char c) {
            return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '<' || c == '>';
        }

        private Word word() {
            StringBuilder text = new StringBuilder();
            boolean expands = false;
            boolean quoted = false;
            while (i < s.length()) {
                char c = s.charAt(i);
                if ((c == '<' || c == '>') && i + 1 < s.length() && s.charAt(i + 1) == '(') {
                    i += 2;
                    text.append(c).append("(...)");
                    new Reader(s, out, uncertain, depth + 1).at(i).listInto(this);
                    expands = true;
                    continue;
                }
                if (endsWord(c)) {
                    break;
                }
                if (c == '\\') {
                    quoted = true;
                    if (i + 1 < s.length()) {
                        if (s.charAt(i + 1) != '\n') {
                            text.append(s.charAt(i + 1));
                        }
                        i += 2;
                    } else {
                        i++;
                    }
                } else if (c == '\'') {
                    quoted = true;
                    int end = s.indexOf('\'', i + 1);
                    if (end < 0) {
                        uncertain.add("an unbalanced single quote");
                        text.append(s, i + 1, s.length());
                        i = s.length();
                    } else {
                        text.append(s, i + 1, end);
                        i = end + 1;
                    }
                } else if (c == '"') {
                    quoted = true;
                    i++;
                    expands |= doubleQuoted(text);
                } else if (c == '$' && i + 1 < s.length() && s.charAt(i + 1) == '\'') {
                    quoted = true;
                    expands |= ansiC(text);
                } else if (c == '$' || c == '`') {
                    expands |= dollarOrBacktick(text);
                } else {
                    text.append(c);
                    i++;
                }
            }
            return new Word(text.toString(), expands, quoted);
        }

        private Reader at(int position) {
            this.i = position;
            return this;
        }

        /** Reads a ( ... ) body from the shared text and moves OWNER past it. */
        private void listInto(Reader owner) {
            list(true);
            owner.i = this.i;
        }

        private boolean doubleQuoted(StringBuilder text) {
            boolean expands = false;
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c == '"') {
                    i++;
                    return expands;
                }
                if (c == '\\' && i + 1 < s.length()) {
                    char n = s.charAt(i + 1);
                    if (n == '"' || n == '\\' || n == '$' || n == '`') {
                        text.append(n);
                    } else if (n != '\n') {
                        text.append(c).append(n);
                    }
                    i += 2;
                } else if (c == '$' || c == '`') {
                    expands |= dollarOrBacktick(text);
                } else {
                    text.append(c);
                    i++;
                }
            }
            uncertain.add("an unbalanced double quote");
            return expands;
        }

        private boolean ansiC(StringBuilder text) {
            i += 2;
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c == '\'') {
                    i++;
                    return false;
                }
                if (c == '\\' && i + 1 < s.length()) {
                    text.append(c).append(s.charAt(i + 1));
                    uncertain.add("a $'...' string with escapes");
                    i += 2;
                } else {
                    text.append(c);
                    i++;
                }
            }
            uncertain.add("an unbalanced $' quote");
            return false;
        }

        /** At '$' or '`': a substitution (read as commands), a parameter, or a plain '$'. Returns whether it expands. */
        private boolean dollarOrBacktick(StringBuilder text) {
            char c = s.charAt(i);
            if (c == '`') {
                int end = i + 1;
                StringBuilder inner = new StringBuilder();
                while (end < s.length() && s.charAt(end) != '`') {
                    if (s.charAt(end) == '\\' && end + 1 < s.length()) {
                        char n = s.charAt(end + 1);
                        inner.append(n == '`' || n == '\\' || n == '$' ? "" : "\\").append(n);
                        end += 2;
                    } else {
                        inner.append(s.charAt(end++));
                    }
                }
                if (end >= s.length()) {
                    uncertain.add("an unbalanced backtick");
                }
                new Reader(inner.toString(), out, uncertain, depth + 1).list(false);
                text.append("`...`");
                i = Math.min(end + 1, s.length());
                return true;
            }
            if (i + 1 >= s.length()) {
                text.append('$');
                i++;
                return false;
            }
            char n = s.charAt(i + 1);
            if (n == '(' && i + 2 < s.length() && s.charAt(i + 2) == '(') {
                i += 3;
                arithmetic();
                text.append("$((...))");
                return true;
            }
            if (n == '(') {
                i += 2;
                new Reader(s, out, uncertain, depth + 1).at(i).listInto(this);
                text.append("$(...)");
                return true;
            }
            if (n == '{') {
                int start = i;
                i += 2;
                int open = 1;
                while (i < s.length() && open > 0) {
                    char k = s.charAt(i);
                    if (k == '$' || k == '`') {
                        dollarOrBacktick(new StringBuilder());
                        continue;
                    }
                    if (k == '\\') {
                        i++;
                    } else if (k == '{') {
                        open++;
                    } else if (k == '}') {
                        open--;
                    }
                    i++;
                }
                if (open > 0) {
                    uncertain.add("an unclosed ${");
                }
                text.append(s, start, Math.min(i, s.length()));
                return true;
            }
            if (Character.isLetterOrDigit(n) || n == '_' || "@*#?$!-".indexOf(n) >= 0) {
                int start = i++;
                if (Character.isLetter(n) || n == '_') {
                    while (i < s.length() && (Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '_')) {
                        i++;
                    }
                } else {
                    i++;
                }
                text.append(s, start, i);
                return true;
            }
            text.append('$');
            i++;
            return false;
        }
    }

    /** The program a command word names: /usr/bin/cat is cat; ./cat or any other path is itself. */
    static String programName(String word) {
        return word.matches("/(usr/)?(local/)?s?bin/[^/]+") ? word.substring(word.lastIndexOf('/') + 1) : word;
    }
}
