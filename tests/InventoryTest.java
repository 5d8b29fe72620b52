import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Ansible inventories (INI and YAML) and host patterns: files written here, no server needed. */
class InventoryTest {
    @TempDir
    Path dir;

    static final String INI = """
            # the fleet
            ; a comment of the other kind
            jump ansible_host=10.0.0.9 ansible_ssh_user=hop

            [web]
            web[01:03].example.com

            [web:vars]
            ansible_port=2201

            [db]
            db-[a:c] ansible_host=127.0.0.1 ansible_port=2222
            web01.example.com

            [canary]
            web03.example.com ansible_user="canary user"  # quoted, as Ansible allows

            [prod:children]
            web
            db

            [prod:vars]
            ansible_user = 'produser'
            ansible_port=2200
            ansible_ssh_private_key_file=keys/prod.key
            """;

    static final String YAML = """
            all:
              hosts:
                jump:
                  ansible_host: 10.0.0.9
                  ansible_ssh_user: hop
              children:
                web:
                  hosts:
                    web[01:03].example.com:
                  vars:
                    ansible_port: 2201
                db:
                  hosts:
                    db-[a:c]:
                      ansible_host: 127.0.0.1
                      ansible_port: 2222
                    web01.example.com:
                canary:
                  hosts:
                    web03.example.com:
                      ansible_user: canary user
                prod:
                  children:
                    web:
                    db:
                  vars:
                    ansible_user: produser
                    ansible_port: 2200
                    ansible_ssh_private_key_file: keys/prod.key
            """;

    private Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    private List<String> names(Inventory inventory, String pattern) {
        return inventory.select(pattern).stream().map(FleetHost::name).toList();
    }

    private static List<String> split(String csv) {
        return List.of(csv.split(" "));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "all                    | jump web01.example.com web02.example.com web03.example.com db-a db-b db-c",
            "*                      | jump web01.example.com web02.example.com web03.example.com db-a db-b db-c",
            "web                    | web01.example.com web02.example.com web03.example.com",
            "web02.example.com      | web02.example.com",
            "ungrouped              | jump",
            "web0*                  | web01.example.com web02.example.com web03.example.com",
            "*.example.com          | web01.example.com web02.example.com web03.example.com",
            "db-?                   | db-a db-b db-c",
            "db-[ab]                | db-a db-b",
            "~web\\d+               | web01.example.com web02.example.com web03.example.com",
            "~db                    | web01.example.com db-a db-b db-c",
            "db:canary              | web01.example.com web03.example.com db-a db-b db-c",
            "'db,canary'            | web01.example.com web03.example.com db-a db-b db-c",
            "' db , jump '          | jump web01.example.com db-a db-b db-c",
            "prod:&db               | web01.example.com db-a db-b db-c",
            "prod:!db               | web02.example.com web03.example.com",
            "!db:web                | web02.example.com web03.example.com",
            "&canary:web            | web03.example.com",
            "!prod                  | jump",
            "web:!canary:&db        | web01.example.com",
            "web[0]                 | web01.example.com",
            "web[-1]                | web03.example.com",
            "web[0:1]               | web01.example.com web02.example.com",
            "prod[1:3]              | web02.example.com web03.example.com db-a",
            "prod[4:]               | db-b db-c",
            "db[0]:web[2]           | web03.example.com db-a",
    })
    void patternsSelectTheSameHostsFromIniAndYaml(String pattern, String expected) throws IOException {
        Inventory ini = Inventory.load(write("hosts.ini", INI));
        Inventory yaml = Inventory.load(write("hosts.yml", YAML));
        assertEquals(split(expected), names(ini, pattern), "INI");
        assertEquals(ini.select(pattern), yaml.select(pattern), "YAML gives the same hosts and settings as INI");
    }

    @Test
    void hostVarsOverChildGroupVarsOverParentGroupVars() throws IOException {
        for (String name : List.of("hosts.ini", "hosts.yaml")) {
            Inventory inventory = Inventory.load(write(name, name.endsWith(".ini") ? INI : YAML));
            Path key = dir.resolve("keys/prod.key");
            // web's port (child group) over prod's; prod's user and key; key relative to the inventory's folder
            assertEquals(new FleetHost("web02.example.com", null, 2201, "produser", key), inventory.host("web02.example.com").orElseThrow());
            // the host's own user over every group's
            assertEquals(new FleetHost("web03.example.com", null, 2201, "canary user", key), inventory.host("web03.example.com").orElseThrow());
            // the host's own address and port over web's and prod's
            assertEquals(new FleetHost("db-b", "127.0.0.1", 2222, "produser", key), inventory.host("db-b").orElseThrow());
            // an old variable name (ansible_ssh_user); no group vars apply
            assertEquals(new FleetHost("jump", "10.0.0.9", null, "hop", null), inventory.host("jump").orElseThrow());
            assertEquals(Optional.empty(), inventory.host("web"));
            assertEquals(name, inventory.file().getFileName().toString());
        }
    }

    @Test
    void deeperGroupsWinThenLaterNamesAndAKeyPathTakesTheHome() throws IOException {
        Inventory inventory = Inventory.load(write("inventory", """
                h3
                [b]
                h1
                [a]
                h1
                [zone:children]
                b
                [a:vars]
                ansible_user=from-a
                ansible_port=2100
                ansible_ssh_private_key_file=~/.ssh/fleet
                [b:vars]
                ansible_user=from-b
                [zone:vars]
                ansible_user=from-zone
                ansible_port=2999
                [all:vars]
                ansible_user=from-all
                ansible_port=2022
                """));
        Path home = Path.of(System.getProperty("user.home"));
        // user: b (depth 2, under zone) over a and zone (depth 1); port: zone over a, same depth, by name
        assertEquals(new FleetHost("h1", null, 2999, "from-b", home.resolve(".ssh/fleet")), inventory.host("h1").orElseThrow());
        assertEquals(new FleetHost("h3", null, 2022, "from-all", null), inventory.host("h3").orElseThrow());
    }

    @Test
    void rangesExpandAsAnsibleDoes() throws IOException {
        Inventory inventory = Inventory.load(write("ranges.ini", """
                [r]
                n[8:10]
                z[08:10]
                s[1:10:4]
                x[a:c]-[1:2]
                10.0.0.[1:2]:2200
                """));
        assertEquals(split("n8 n9 n10 z08 z09 z10 s1 s5 s9 xa-1 xa-2 xb-1 xb-2 xc-1 xc-2 10.0.0.1 10.0.0.2"), names(inventory, "r"));
        assertEquals(new FleetHost("10.0.0.2", null, 2200, null, null), inventory.host("10.0.0.2").orElseThrow());
    }

    @Test
    void anAddressOrHostPortIsOneTermAndCommasSplitFirst() throws IOException {
        assertEquals(List.of("127.0.0.1:2222"), HostPattern.split("127.0.0.1:2222"));
        assertEquals(List.of("::1"), HostPattern.split("::1"));
        assertEquals(List.of("web[1:3]"), HostPattern.split("web[1:3]"));
        assertEquals(List.of("web", "&db", "!canary"), HostPattern.split("web:&db:!canary"));
        assertEquals(List.of("a", "b:c"), HostPattern.split("a,b:c"));
        Inventory inventory = Inventory.load(write("local.ini", """
                [local]
                127.0.0.1:2222
                ::1
                """));
        assertEquals(List.of("::1"), names(inventory, "::1"));
        assertEquals(List.of("127.0.0.1"), names(inventory, "local,!::1"));
        assertEquals(new FleetHost("127.0.0.1", null, 2222, null, null), inventory.select("127.0.0.1").get(0));
    }

    @Test
    void aPatternThatMatchesNothingNamesTheFileAndItsGroups() throws IOException {
        Path file = write("hosts.ini", INI);
        Inventory inventory = Inventory.load(file);
        VpsException e = assertThrows(VpsException.class, () -> inventory.select("nosuch*"));
        assertEquals(VpsException.Kind.CONFIG, e.kind);
        assertEquals("no host in " + file + " matches nosuch*", e.getMessage());
        assertTrue(e.hint.startsWith("its groups: all, ungrouped, web, db, canary, prod;"), e.hint);
        assertEquals(VpsException.Kind.CONFIG, assertThrows(VpsException.class, () -> inventory.select("web:&db:!web01*")).kind);
        assertEquals(VpsException.Kind.CONFIG, assertThrows(VpsException.class, () -> inventory.select("web[3]")).kind);
        assertEquals(VpsException.Kind.CONFIG, assertThrows(VpsException.class, () -> inventory.select("~web(")).kind);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            # what                    | line | text (\\n between lines)
            unknown section type      | 3    | a\\n[web]\\n[web:hostvars]\\nb
            section with a space      | 2    | [web]\\n[web servers]\\nb
            not a host line           | 2    | [web]\\nall:\\n
            a word that is not k=v    | 3    | [web]\\nw1\\nw2 ansible_user\\n
            undefined child group     | 5    | [web]\\nw1\\n[prod:children]\\nweb\\ndb\\n
            vars of an undefined group| 3    | [web]\\nw1\\n[db:vars]\\nx=1\\n
            cycle in children         | 6    | [a:children]\\nb\\n[c]\\nw1\\n[b:children]\\na\\n
            all as a child            | 4    | [web]\\nw1\\n[web:children]\\nall\\n
            unclosed quote            | 2    | [web]\\nw1 ansible_user="alice\\n
            backwards range           | 2    | [web]\\nw[3:1]\\n
            unequal range widths      | 3    | [web]\\n\\nw[01:100]\\n
            a vars line without =     | 4    | [web]\\nw1\\n[web:vars]\\nansible_user\\n
            """)
    void unsupportedIniGivesFileAndLine(String what, int line, String text) throws IOException {
        Path file = write("bad.ini", text.replace("\\n", "\n"));
        VpsException e = assertThrows(VpsException.class, () -> Inventory.load(file));
        assertEquals(VpsException.Kind.CONFIG, e.kind);
        assertTrue(e.getMessage().startsWith(file + ":" + line + ": "), what + ": " + e.getMessage());
    }

    @Test
    void aCycleNamesItsGroups() throws IOException {
        Path file = write("cycle.ini", "[a:children]\nb\n[b:children]\nc\n[c:children]\na\n");
        VpsException e = assertThrows(VpsException.class, () -> Inventory.load(file));
        assertEquals(file + ":6: groups form a cycle: c -> a -> b -> c", e.getMessage());
        Path yaml = write("cycle.yml", "all:\n  children:\n    a:\n      children:\n        b:\n          children:\n            a:\n");
        VpsException y = assertThrows(VpsException.class, () -> Inventory.load(yaml));
        assertEquals(yaml + ":7: groups form a cycle: b -> a -> b", y.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            # what                     | line | text (\\n between lines)
            unknown key in a group     | 4    | all:\\n  hosts:\\n    w1:\\n  host:\\n    w2:\\n
            a dynamic plugin           | 2    | regions: [eu-west-1]\\nplugin: amazon.aws.aws_ec2\\n
            a recursive alias          | 3    | all: &x\\n  children:\\n    a: *x\\n
            a vault value              | 5    | all:\\n  hosts:\\n    w1:\\n      ansible_user: alice\\n      ansible_become_password: !vault $ANSIBLE_VAULT;1.1;AES256\\n
            a host entry that is a list| 3    | all:\\n  hosts:\\n    w1:\\n      - ansible_user: alice\\n
            a scalar where a map goes  | 3    | all:\\n  hosts:\\n    w1: 10.0.0.1\\n
            hosts as a list            | 4    | all:\\n  children:\\n    web:\\n      hosts:\\n        - w1\\n
            a duplicate key            | 5    | all:\\n  hosts:\\n    w1:\\n      ansible_port: 22\\n      ansible_port: 2222\\n
            a group that is a list     | 2    | all:\\n  children:\\n    - web\\n
            a merge key bringing x     | 3    | all:\\n  vars: &v\\n    x: 1\\n  <<: *v\\n
            a syntax error             | 3    | all:\\n  hosts:\\n    w1: a: b\\n
            an empty file              | 1    | # nothing\\n
            """)
    void unsupportedYamlGivesFileAndLine(String what, int line, String text) throws IOException {
        Path file = write("bad.yaml", text.replace("\\n", "\n"));
        VpsException e = assertThrows(VpsException.class, () -> Inventory.load(file));
        assertEquals(VpsException.Kind.CONFIG, e.kind);
        assertTrue(e.getMessage().startsWith(file + ":" + line + ": "), what + ": " + e.getMessage());
    }

    @Test
    void aNonSshConnectionIsAnErrorAtItsLineWhenSelected() throws IOException {
        Path file = write("mixed.ini", """
                localhost ansible_connection=local
                [web]
                w1
                w2
                [win]
                pc1
                [win:vars]
                ansible_connection=winrm
                [web:vars]
                ansible_connection=ssh
                """);
        Inventory inventory = Inventory.load(file);
        assertEquals(List.of("w1", "w2"), names(inventory, "all:!localhost:!win"));
        VpsException local = assertThrows(VpsException.class, () -> inventory.select("all"));
        assertTrue(local.getMessage().startsWith(file + ":1: host localhost has ansible_connection=local"), local.getMessage());
        VpsException win = assertThrows(VpsException.class, () -> inventory.host("pc1"));
        assertTrue(win.getMessage().startsWith(file + ":8: "), win.getMessage());
    }

    @Test
    void aBadPortOrATemplateIsAnErrorAtItsLine() throws IOException {
        Path file = write("vars.yml", """
                all:
                  hosts:
                    w1:
                      ansible_port: ssh
                    w2:
                      ansible_host: "{{ lookup('env', 'W2') }}"
                    w3:
                      ansible_user: [a, b]
                """);
        Inventory inventory = Inventory.load(file);
        assertTrue(assertThrows(VpsException.class, () -> inventory.host("w1")).getMessage().startsWith(file + ":4: ansible_port"));
        assertTrue(assertThrows(VpsException.class, () -> inventory.host("w2")).getMessage().startsWith(file + ":6: ansible_host"));
        assertTrue(assertThrows(VpsException.class, () -> inventory.host("w3")).getMessage().startsWith(file + ":8: ansible_user"));
    }

    @Test
    void theFormatIsTakenFromTheExtensionElseTheFirstLine() throws IOException {
        assertEquals(List.of("w1"), names(Inventory.load(write("plain-yaml", "---\nall:\n  hosts:\n    w1:\n")), "all"));
        assertEquals(List.of("w1"), names(Inventory.load(write("web-yaml", "# c\nweb:\n  hosts: w1\n")), "web"));
        assertEquals(List.of("w1"), names(Inventory.load(write("plain-ini", "# c\nw1 ansible_port=22\n")), "all"));
        assertEquals(List.of("2001:db8::"), names(Inventory.load(write("v6-ini", "2001:db8::\n")), "all"));
        assertEquals(List.of("w1"), names(Inventory.load(write("section-ini", "\n[web]\nw1\n")), "web"));
        assertEquals(List.of("w1"), names(Inventory.load(write("bom.ini", "\uFEFF[web]\nw1\n")), "web"));
        for (String name : List.of("hosts.json", "hosts")) {
            Path json = write(name, "{\"_meta\": {\"hostvars\": {}}, \"all\": {\"children\": [\"ungrouped\"]}}\n");
            VpsException e = assertThrows(VpsException.class, () -> Inventory.load(json));
            assertTrue(e.getMessage().contains("JSON inventories"), e.getMessage());
        }
        VpsException missing = assertThrows(VpsException.class, () -> Inventory.load(dir.resolve("nope.ini")));
        assertEquals(VpsException.Kind.CONFIG, missing.kind);
    }

    @Test
    void aGroupNamedInSeveralPlacesIsOneGroup() throws IOException {
        Inventory inventory = Inventory.load(write("merge.yml", """
                all:
                  children:
                    web:
                      hosts:
                        w1:
                    eu:
                      children:
                        web:
                          hosts:
                            w2:
                          vars:
                            ansible_user: eu
                """));
        assertEquals(List.of("w1", "w2"), names(inventory, "web"));
        assertEquals(List.of("w1", "w2"), names(inventory, "eu"));
        assertEquals("eu", inventory.host("w1").orElseThrow().user());
    }

    @Test
    void anchorsAndMergeKeysWorkAsInAnsible() throws IOException {
        Inventory inventory = Inventory.load(write("merge.yml", """
                all:
                  hosts:
                    w1: &defaults
                      ansible_user: deploy
                      ansible_port: 2200
                    w2:
                      <<: *defaults
                      ansible_port: 2201
                """));
        assertEquals(new FleetHost("w2", null, 2201, "deploy", null), inventory.host("w2").orElseThrow());
    }

    @Test
    void aCommandLineEntryIsAHostSpec() {
        assertEquals(new FleetHost("alice@web1:2222", "web1", 2222, "alice", null), FleetHost.of("alice@web1:2222"));
        assertEquals(new FleetHost("[::1]:2222", "::1", 2222, null, null), FleetHost.of("[::1]:2222"));
        assertEquals(new FleetHost("prod-db", "prod-db", null, null, null), FleetHost.of("prod-db"));
        assertEquals(VpsException.Kind.CONFIG, assertThrows(VpsException.class, () -> FleetHost.of("web1:ssh")).kind);
    }
}
