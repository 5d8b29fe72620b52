import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every key format users have, made by the real tools (ssh-keygen, openssl, puttygen) inside the
 * container, logs in to a real OpenSSH server.
 */
class KeyFormatsTest {
    static final String PASSPHRASE = "pass phrase";
    static VpsServer vps;
    static Path keys;

    private static final String MAKE_KEYS = """
            set -e
            rm -rf /tmp/keys; mkdir /tmp/keys; cd /tmp/keys
            P='pass phrase'
            ssh-keygen -q -t ed25519 -N '' -f openssh-ed25519
            ssh-keygen -q -t ed25519 -N "$P" -f openssh-ed25519-enc
            ssh-keygen -q -t ecdsa -b 256 -N '' -f openssh-ecdsa
            ssh-keygen -q -t rsa -b 2048 -N '' -f openssh-rsa
            ssh-keygen -q -t rsa -b 2048 -m PEM -N '' -f pem-rsa
            ssh-keygen -q -t rsa -b 2048 -m PEM -N "$P" -f pem-rsa-enc
            ssh-keygen -q -t ecdsa -b 256 -m PEM -N '' -f pem-ecdsa
            ssh-keygen -q -t rsa -b 2048 -m PKCS8 -N '' -f pkcs8-rsa
            ssh-keygen -q -t rsa -b 2048 -m PKCS8 -N "$P" -f pkcs8-rsa-enc
            ssh-keygen -q -t ecdsa -b 256 -m PKCS8 -N '' -f pkcs8-ecdsa
            openssl genpkey -algorithm ed25519 -out pkcs8-ed25519 2>/dev/null
            openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:"$P" -in pkcs8-ed25519 -out pkcs8-ed25519-enc
            printf %s "$P" > pass.txt
            for v in 2 3; do
              puttygen openssh-ed25519 -O private -o ppk$v-ed25519.ppk --ppk-param version=$v
              puttygen openssh-rsa -O private -o ppk$v-rsa-enc.ppk --ppk-param version=$v --new-passphrase pass.txt
            done
            id keys >/dev/null 2>&1 || useradd -m -s /bin/bash keys
            mkdir -p /home/keys/.ssh
            cat *.pub > /home/keys/.ssh/authorized_keys
            chown -R keys /home/keys/.ssh; chmod 700 /home/keys/.ssh; chmod 600 /home/keys/.ssh/authorized_keys
            ls
            """;

    @BeforeAll
    static void makeKeys() throws Exception {
        vps = VpsServer.shared();
        String files = vps.exec(MAKE_KEYS);
        keys = Files.createTempDirectory("vps-keys");
        for (String name : files.split("\\s+")) {
            if (!name.isBlank()) {
                vps.container.copyFileFromContainer("/tmp/keys/" + name, keys.resolve(name).toString());
            }
        }
        // OpenSSH cannot read a PKCS#8 Ed25519 key, so its authorized_keys line is built from the raw public key.
        byte[] raw = Base64.getDecoder().decode(vps.exec(
                "openssl pkey -in /tmp/keys/pkcs8-ed25519 -pubout -outform DER | tail -c 32 | base64 -w0").trim());
        String line = "ssh-ed25519 " + Base64.getEncoder().encodeToString(sshEd25519Blob(raw));
        vps.exec("echo '" + line + "' >> /home/keys/.ssh/authorized_keys");
        Files.write(keys.resolve("openssh-ed25519-crlf"), crlf(Files.readAllBytes(keys.resolve("openssh-ed25519"))));
        Files.write(keys.resolve("pem-rsa-bom-crlf"), bom(crlf(Files.readAllBytes(keys.resolve("pem-rsa")))));
        Files.write(keys.resolve("ppk3-rsa-enc-crlf.ppk"), crlf(Files.readAllBytes(keys.resolve("ppk3-rsa-enc.ppk"))));
        for (Path p : Files.list(keys).toList()) {
            Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        }
    }

    private static byte[] sshEd25519Blob(byte[] raw) {
        byte[] type = "ssh-ed25519".getBytes(StandardCharsets.US_ASCII);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 + type.length + 4 + raw.length);
        b.putInt(type.length).put(type).putInt(raw.length).put(raw);
        return b.array();
    }

    private static byte[] crlf(byte[] text) {
        return new String(text, StandardCharsets.US_ASCII).replace("\n", "\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] bom(byte[] text) {
        byte[] out = new byte[text.length + 3];
        out[0] = (byte) 0xEF;
        out[1] = (byte) 0xBB;
        out[2] = (byte) 0xBF;
        System.arraycopy(text, 0, out, 3, text.length);
        return out;
    }

    private static Runs.Result login(String keyFile, String passphrase) {
        TestSupport.freshEnvironment(passphrase == null ? Map.of() : Map.of("VPS_KEY_PASSPHRASE", passphrase));
        return Runs.exec(List.of("-H", "127.0.0.1", "-p", Integer.toString(vps.port), "-u", "keys", "-i", keys.resolve(keyFile).toString(),
                "--known-hosts", vps.knownHosts.toString(), "--", "whoami"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "openssh-ed25519,", "openssh-ed25519-enc,pass phrase", "openssh-ecdsa,", "openssh-rsa,",
        "pem-rsa,", "pem-rsa-enc,pass phrase", "pem-ecdsa,",
        "pkcs8-rsa,", "pkcs8-rsa-enc,pass phrase", "pkcs8-ecdsa,", "pkcs8-ed25519,", "pkcs8-ed25519-enc,pass phrase",
        "ppk2-ed25519.ppk,", "ppk2-rsa-enc.ppk,pass phrase", "ppk3-ed25519.ppk,", "ppk3-rsa-enc.ppk,pass phrase",
        "openssh-ed25519-crlf,", "pem-rsa-bom-crlf,", "ppk3-rsa-enc-crlf.ppk,pass phrase"})
    void logsInWith(String keyFile, String passphrase) {
        Runs.Result r = login(keyFile, passphrase);
        assertEquals("keys\n", r.stdout(), r.toString());
        assertEquals(0, r.exit());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"openssh-ed25519-enc", "pem-rsa-enc", "pkcs8-rsa-enc", "pkcs8-ed25519-enc", "ppk3-rsa-enc.ppk"})
    void missingOrWrongPassphraseHasItsOwnMessage(String keyFile) {
        Runs.Result none = login(keyFile, null);
        assertEquals(255, none.exit(), none.toString());
        assertTrue(none.stderr().startsWith("vps: AUTH: key " + keys.resolve(keyFile) + " is encrypted and no passphrase was given"), none.stderr());
        Runs.Result wrong = login(keyFile, "not it");
        assertEquals(255, wrong.exit(), wrong.toString());
        assertTrue(wrong.stderr().startsWith("vps: AUTH: the passphrase given does not open key "), wrong.stderr());
        assertTrue(!wrong.stderr().contains("not it"), "the passphrase is never shown");
    }

    @Test
    void passphraseFromAFile() {
        TestSupport.freshEnvironment();
        Runs.Result r = Runs.exec(List.of("-H", "127.0.0.1", "-p", Integer.toString(vps.port), "-u", "keys",
                "-i", keys.resolve("openssh-ed25519-enc").toString(), "--passphrase-file", keys.resolve("pass.txt").toString(),
                "--known-hosts", vps.knownHosts.toString(), "--", "whoami"));
        assertEquals("keys\n", r.stdout(), r.toString());
    }
}
