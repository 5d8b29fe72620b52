import java.util.Locale;
import picocli.CommandLine;

/** Parses sizes like 65536, 64k, 1m, 2g (binary multiples). */
final class ByteSizes implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT).replaceAll("i?b$", "");
        long mult = 1;
        if (v.endsWith("k")) {
            mult = 1L << 10;
        } else if (v.endsWith("m")) {
            mult = 1L << 20;
        } else if (v.endsWith("g")) {
            mult = 1L << 30;
        }
        if (mult > 1) {
            v = v.substring(0, v.length() - 1);
        }
        long number;
        try {
            number = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException(v.matches("[0-9]{19,}")
                    ? "too large a size: '" + value + "'" : "not a size: '" + value + "' (use e.g. 65536, 64k, 1m)");
        }
        try {
            return Math.multiplyExact(number, mult);   // 16777216t would wrap to 0, which means unlimited
        } catch (ArithmeticException e) {
            throw new CommandLine.TypeConversionException("too large a size: '" + value + "'");
        }
    }
}
