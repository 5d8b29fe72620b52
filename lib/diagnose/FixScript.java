import com.jcraft.jsch.KeyPair;
import java.util.Base64;
import java.util.List;

/**
 * diagnose-auth --fix-script: a POSIX sh script to run as root on the server (the provider's web
 * console) when key login fails for a cause on the server's side. The client cannot see the server,
 * so the script checks every candidate cause itself (the user, its shell, the key in the file sshd
 * reads, owners and modes, PubkeyAuthentication, the key's algorithm), fixes only what it finds and
 * prints each fix; a second run prints that there is nothing to fix. The values (user, public key)
 * appear once, quoted, in assignments at the top; the rest of the script only reads the variables.
 */
final class FixScript {
    /** SCRIPT to run on the server, or null; NOTE says what it does or why no script applies. */
    record Result(String script, String note) {}

    private FixScript() {}

    static Result of(AuthDiagnosis d, String user) {
        if (!d.serverSideCause) {
            return new Result(null, switch (d.verdict.outcome()) {
                case "login works" -> "login works: there is nothing to fix";
                case "unreachable" -> "no fix script applies: the host cannot be reached, which no change to its accounts or sshd settings fixes";
                default -> "no fix script applies: the cause (" + d.verdict.cause() + ") is not in the server's accounts or sshd settings";
            });
        }
        if (d.keyToAuthorize == null) {
            return new Result(null, "no fix script: there is no key to authorize for " + user
                    + " (a password or the agent's keys only); give the key to log in with by -i or VPS_KEY");
        }
        return new Result(script(user, d.keyToAuthorize.pair()), "run it as root on the server (e.g. in the provider's web console): it checks "
                + "and fixes the login of " + user + " with " + d.keyToAuthorize.file() + ", then prints what it changed");
    }

    /** The script that lets USER log in with KEY (its public half only). */
    static String script(String user, KeyPair key) {
        String blob = Base64.getEncoder().encodeToString(key.getPublicKeyBlob());
        String type = key.getKeyTypeString();
        String comment = key.getPublicKeyComment() == null ? "" : key.getPublicKeyComment().replaceAll("\\p{Cntrl}", " ").strip();
        String line = type + " " + blob + (comment.isEmpty() ? "" : " " + comment);
        // What sshd's PubkeyAcceptedAlgorithms must hold for this key: an RSA key signs with SHA-2.
        List<String> algorithms = type.equals("ssh-rsa") ? List.of("rsa-sha2-512", "rsa-sha2-256") : List.of(type);
        return HEAD
                + "user=" + ShellQuote.quote(user) + "\n"
                + "key=" + ShellQuote.quote(line) + "\n"
                + "key_blob=" + ShellQuote.quote(blob) + "\n"
                + "key_algorithms=" + ShellQuote.quote(String.join(",", algorithms)) + "\n"
                + BODY;
    }

    private static final String HEAD = """
            #!/bin/sh
            # Written by vps-toolkit diagnose-auth --fix-script. Run it as root on the server (e.g. in the
            # provider's web console): it makes key login work for the user below. It checks each cause, fixes
            # only what it finds and prints each fix; running it again changes nothing.
            set -eu
            """;

    private static final String BODY = """
            umask 022
            set -f
            PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
            changes=0
            say() { printf 'vps-fix: %s\\n' "$*"; }
            fixed() { changes=$((changes + 1)); say "fixed: $*"; }
            fail() { say "cannot fix: $*" >&2; exit 1; }

            [ "$(id -u)" = 0 ] || fail "run this script as root"
            case ${user%\\$} in
              ''|[.-]*|*[!A-Za-z0-9._-]*) fail "'$user' is not a user name this script handles: fix its login by hand" ;;
            esac

            # The user, with a home and a login shell that runs commands.
            if ! id -u "$user" >/dev/null 2>&1; then
              shell=/bin/bash; [ -x "$shell" ] || shell=/bin/sh
              if command -v useradd >/dev/null 2>&1; then useradd -m -s "$shell" "$user"; else adduser -D -s "$shell" "$user"; fi
              fixed "user $user did not exist: created it (shell $shell)"
            fi
            uid=$(id -u "$user"); gid=$(id -g "$user")
            entry=$(getent passwd "$user" 2>/dev/null) || entry=$(awk -F: -v u="$user" '$1 == u' /etc/passwd)
            home=$(printf '%s\\n' "$entry" | cut -d: -f6)
            shell=$(printf '%s\\n' "$entry" | cut -d: -f7)
            case ${shell##*/} in
              nologin|false|'') usable=no ;;
              *) if [ -x "$shell" ]; then usable=yes; else usable=no; fi ;;
            esac
            if [ "$usable" = no ]; then
              new=/bin/bash; [ -x "$new" ] || new=/bin/sh
              usermod -s "$new" "$user" || fail "set the login shell of $user to $new by hand (chsh -s $new $user)"
              fixed "the login shell of $user was '$shell', which runs no commands: set it to $new"
            fi
            if [ ! -d "$home" ]; then
              mkdir -p "$home"; chown "$uid:$gid" "$home"
              fixed "the home $home of $user did not exist: created it"
            fi

            # sshd's effective settings for this user (Match blocks included).
            sshd=$(command -v sshd) || sshd=/usr/sbin/sshd
            [ -d /run/sshd ] || mkdir -p /run/sshd    # sshd -T and -t refuse to run without it
            effective() {
              "$sshd" -T -C "user=$user,host=localhost,addr=127.0.0.1" 2>&1 || fail "sshd cannot read its configuration: $("$sshd" -t 2>&1)"
            }
            setting() { printf '%s\\n' "$config" | awk -v k="$1" '$1 == k { sub(/^[^ ]+ /, ""); print; exit }'; }
            config=$(effective)

            # The key, in the file sshd reads it from (AuthorizedKeysFile, %h %u %U %% expanded).
            expand() {
              rest=$1; out=
              while [ -n "$rest" ]; do
                case $rest in
                  %%*) out=$out%; rest=${rest#%%} ;;
                  %h*) out=$out$home; rest=${rest#%h} ;;
                  %u*) out=$out$user; rest=${rest#%u} ;;
                  %U*) out=$out$uid; rest=${rest#%U} ;;
                  *) next=${rest#?}; out=$out${rest%"$next"}; rest=$next ;;
                esac
              done
              case $out in /*) printf '%s\\n' "$out" ;; *) printf '%s\\n' "$home/$out" ;; esac
            }
            has_key() {
              awk -v b="$key_blob" '!/^[[:space:]]*#/ { for (i = 1; i <= NF; i++) if ($i == b) found = 1 } END { exit !found }' "$1"
            }
            owned() {    # $1 path, $2 mode: owned by the user, with exactly that mode
              if [ "$(stat -c %u "$1")" != "$uid" ]; then
                was=$(stat -c %U "$1"); chown "$uid:$gid" "$1"; fixed "$1 was owned by $was: now by $user"
              fi
              if [ "$(stat -c %a "$1")" != "$2" ]; then
                was=$(stat -c %a "$1"); chmod "$2" "$1"; fixed "$1 was mode $was: now $2"
              fi
            }
            files=$(setting authorizedkeysfile)
            if [ -z "$files" ] || [ "$files" = none ]; then
              fail "sshd reads no AuthorizedKeysFile for $user (AuthorizedKeysFile none)"
            fi
            file=; first=
            for pattern in $files; do
              candidate=$(expand "$pattern")
              if [ -f "$candidate" ] && has_key "$candidate"; then file=$candidate; break; fi
              [ -n "$first" ] || first=$candidate
            done
            found=${file:+yes}
            file=${file:-$first}
            case $file in
              "$home"/*)
                # StrictModes: the home is the user's (or root's) and writable by no one else; every folder
                # below it on the way to the file is the user's, mode 700.
                if [ "$(stat -c %u "$home")" != "$uid" ] && [ "$(stat -c %u "$home")" != 0 ]; then
                  was=$(stat -c %U "$home"); chown "$uid:$gid" "$home"; fixed "$home was owned by $was: now by $user"
                fi
                mode=$(stat -c %a "$home")
                if [ $((0$mode & 022)) -ne 0 ]; then
                  chmod go-w "$home"; fixed "$home was mode $mode (writable by group or others): now $(stat -c %a "$home")"
                fi
                dir=$home; rest=${file#"$home"/}
                while [ "${rest#*/}" != "$rest" ]; do
                  dir=$dir/${rest%%/*}; rest=${rest#*/}
                  if [ ! -d "$dir" ]; then
                    mkdir -m 700 "$dir"; chown "$uid:$gid" "$dir"; fixed "created $dir"
                  fi
                  owned "$dir" 700
                done
                ;;
              *)
                if [ ! -d "${file%/*}" ]; then
                  mkdir -p "${file%/*}"; fixed "created ${file%/*}"
                fi
                ;;
            esac
            if [ -z "$found" ]; then
              if [ ! -e "$file" ]; then
                : >"$file"; chown "$uid:$gid" "$file"; chmod 600 "$file"
              elif [ -s "$file" ] && [ -n "$(tail -c 1 "$file")" ]; then
                printf '\\n' >>"$file"
              fi
              printf '%s\\n' "$key" >>"$file"
              fixed "added the key to $file"
            fi
            owned "$file" 600
            dir=${file%/*}
            while [ -n "$dir" ]; do
              mode=$(stat -c %a "$dir")
              if [ $((0$mode & 022)) -ne 0 ]; then
                say "warning: $dir is mode $mode (writable by group or others): sshd refuses keys below it; fix it with chmod go-w $dir"
              fi
              dir=${dir%/*}
            done

            # PubkeyAuthentication and the key's algorithm, for this user only: a Match block that sshd reads
            # before any other (a drop-in that sorts first, or a marked block before the first Match).
            algorithms_keyword=pubkeyacceptedalgorithms; accepted=$(setting "$algorithms_keyword")
            if [ -z "$accepted" ]; then algorithms_keyword=pubkeyacceptedkeytypes; accepted=$(setting "$algorithms_keyword"); fi
            accepts_key() {
              list=$(setting "$algorithms_keyword")
              [ -z "$list" ] && return 0
              for a in $(printf '%s\\n' "$key_algorithms" | tr , ' '); do
                case ",$list," in *,"$a",*) return 0 ;; esac
              done
              return 1
            }
            pubkey_ok() { [ "$(setting pubkeyauthentication)" = yes ]; }
            if ! pubkey_ok || ! accepts_key; then
              block="Match User $user
                PubkeyAuthentication yes"
              if ! accepts_key; then block="$block
                $algorithms_keyword $accepted,$key_algorithms"; fi
              pubkey_ok || say "found: PubkeyAuthentication is $(setting pubkeyauthentication) for $user"
              accepts_key || say "found: sshd does not accept $key_algorithms keys for $user ($algorithms_keyword $accepted)"
              main=/etc/ssh/sshd_config
              backup=$(mktemp)
              if grep -Eiq '^[[:space:]]*Include[[:space:]]+(/etc/ssh/)?sshd_config\\.d/\\*\\.conf' "$main"; then
                changed=/etc/ssh/sshd_config.d/00-vps-toolkit-$user.conf
                if [ -f "$changed" ]; then cp -p "$changed" "$backup"; else rm -f "$backup"; fi
                printf '# Written by vps-toolkit diagnose-auth --fix-script: %s logs in with a key.\\n%s\\n' "$user" "$block" >"$changed"
              else
                changed=$main
                cp -p "$main" "$backup"
                BEGIN_MARK="# BEGIN vps-toolkit diagnose-auth --fix-script for $user"
                END_MARK="# END vps-toolkit diagnose-auth --fix-script for $user"
                BLOCK="$BEGIN_MARK
            $block
            $END_MARK"
                export BEGIN_MARK END_MARK BLOCK
                awk '
                  $0 == ENVIRON["BEGIN_MARK"] { skip = 1; next }
                  skip { if ($0 == ENVIRON["END_MARK"]) skip = 0; next }
                  !done && tolower($1) == "match" { print ENVIRON["BLOCK"]; done = 1 }
                  { print }
                  END { if (!done) print ENVIRON["BLOCK"] }' "$backup" >"$main"
              fi
              restore() { if [ -f "$backup" ]; then cat "$backup" >"$changed"; else rm -f "$changed"; fi; rm -f "$backup"; }
              if ! checked=$("$sshd" -t 2>&1); then
                restore; fail "sshd -t rejected the change, which is undone: $checked"
              fi
              if ! config=$(effective) || ! pubkey_ok || ! accepts_key; then
                restore; fail "the change did not take effect (a setting sshd reads earlier decides); it is undone; see: sshd -T -C user=$user,host=localhost,addr=127.0.0.1"
              fi
              rm -f "$backup"
              fixed "sshd now accepts the $key_algorithms key of $user (in $changed)"
              reloaded=
              if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
                for unit in ssh.service sshd.service; do
                  if systemctl cat "$unit" >/dev/null 2>&1; then
                    systemctl try-reload-or-restart "$unit"; reloaded=$unit; say "reloaded sshd ($unit)"; break
                  fi
                done
              fi
              if [ -z "$reloaded" ]; then
                # No systemd: SIGHUP to each listening sshd (an sshd whose parent is not sshd); it re-reads its files.
                set +f
                for proc in /proc/[0-9]*; do
                  [ "$(cat "$proc/comm" 2>/dev/null)" = sshd ] || continue
                  parent=$(awk '{ print $4 }' "$proc/stat" 2>/dev/null) || continue
                  [ "$(cat "/proc/$parent/comm" 2>/dev/null)" != sshd ] || continue
                  kill -HUP "${proc#/proc/}" && reloaded="$reloaded ${proc#/proc/}"
                done
                set -f
                if [ -n "$reloaded" ]; then say "reloaded sshd (SIGHUP to pid$reloaded)"; else say "sshd is not running: the change applies when it starts"; fi
              fi
            fi

            if [ "$changes" -eq 0 ]; then
              say "nothing to fix for $user"
            else
              say "done: $changes change(s); try the login again"
            fi
            """;
}
