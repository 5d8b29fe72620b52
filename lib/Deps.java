// Every dependency version of the toolkit, pinned once. Scripts and tests pull this in through
// the lib files they use; nothing else declares a version.
//JAVA 17+
// The sources are UTF-8 whatever the caller's locale (javac in a C locale, from cron or env -i, reads ASCII).
//JAVAC_OPTIONS -encoding UTF-8
//DEPS com.github.mwiede:jsch:2.28.8
//DEPS info.picocli:picocli:4.7.7
//DEPS com.google.code.gson:gson:2.13.2
//DEPS io.github.cdimascio:dotenv-java:3.2.0
//DEPS org.apache.sshd:sshd-core:2.20.0
//DEPS org.apache.sshd:sshd-sftp:2.20.0
// JSch needs BouncyCastle for chacha20-poly1305, the post-quantum key exchanges (ML-KEM needs 1.84+),
// PuTTY v3 (Argon2) and PKCS#8 Ed25519 keys, and JNA for Pageant on Windows; its POM declares neither.
//DEPS org.bouncycastle:bcprov-jdk18on:1.87
//DEPS net.java.dev.jna:jna-platform:5.18.1
//DEPS me.tongfei:progressbar:0.10.1
// Ansible YAML inventories: composed as nodes, which keep their line for FILE:LINE errors.
//DEPS org.snakeyaml:snakeyaml-engine:3.2
//DEPS org.slf4j:slf4j-api:2.0.20
//DEPS org.slf4j:slf4j-nop:2.0.20
// JVM options are per script: a short call starts faster with C1 only and the serial collector,
// while a transfer needs C2 for AES-GCM and SHA-256 at full speed.
final class Deps {
    private Deps() {}
}
