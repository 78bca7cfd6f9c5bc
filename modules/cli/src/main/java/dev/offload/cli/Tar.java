package dev.offload.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A POSIX (ustar) tar of local files, written as a stream whose length is known before the first
 * byte: the control plane refuses a mount over its cap from the Content-Length alone. Names over
 * 100 bytes get a PAX {@code path} record, which GNU tar and busybox read.
 */
final class Tar {
  private static final int BLOCK = 512;

  /** A directory ({@code file} is a directory) or a regular file of {@code size} bytes, by its name in the tar. */
  record Entry(String name, Path file, boolean directory, long size, boolean executable) {}

  private Tar() {}

  static Entry of(String name, Path file) throws IOException {
    boolean directory = Files.isDirectory(file);
    return new Entry(name, file, directory, directory ? 0 : Files.size(file), Files.isExecutable(file));
  }

  /** Exactly the bytes {@link #write} produces for these entries. */
  static long length(List<Entry> entries) {
    long length = 2L * BLOCK;
    for (Entry entry : entries) {
      byte[] name = entryName(entry).getBytes(StandardCharsets.UTF_8);
      if (name.length > 100) length += BLOCK + padded(pax(entry).length);
      length += BLOCK + padded(entry.size());
    }
    return length;
  }

  /**
   * A file that changed size since it was listed is written at its listed size (cut or padded with
   * zeros), so the stream keeps the length announced; the next sync sends it again.
   */
  static void write(List<Entry> entries, OutputStream out) throws IOException {
    for (Entry entry : entries) {
      String name = entryName(entry);
      if (name.getBytes(StandardCharsets.UTF_8).length > 100) {
        byte[] pax = pax(entry);
        out.write(header("PaxHeader", pax.length, 'x', false));
        out.write(pax);
        out.write(new byte[(int) (padded(pax.length) - pax.length)]);
        name = name.substring(0, Math.min(name.length(), 90));
      }
      out.write(header(name, entry.size(), entry.directory() ? '5' : '0', entry.directory() || entry.executable()));
      if (!entry.directory()) {
        long written = 0;
        try (InputStream in = Files.newInputStream(entry.file())) {
          byte[] buffer = new byte[64 * 1024];
          for (int n; written < entry.size() && (n = in.read(buffer, 0, (int) Math.min(buffer.length, entry.size() - written))) > 0; ) {
            out.write(buffer, 0, n);
            written += n;
          }
        }
        out.write(new byte[(int) (padded(entry.size()) - written)]);
      }
    }
    out.write(new byte[2 * BLOCK]);
    out.flush();
  }

  private static String entryName(Entry entry) {
    return entry.directory() ? entry.name() + "/" : entry.name();
  }

  private static byte[] pax(Entry entry) {
    String value = " path=" + entryName(entry) + "\n";
    int length = value.getBytes(StandardCharsets.UTF_8).length;
    int digits = String.valueOf(length).length();
    // The record's length counts its own digits.
    while (String.valueOf(length + digits).length() != digits) digits++;
    return ((length + digits) + value).getBytes(StandardCharsets.UTF_8);
  }

  private static long padded(long size) {
    return (size + BLOCK - 1) / BLOCK * BLOCK;
  }

  private static byte[] header(String name, long size, char type, boolean executable) {
    byte[] header = new byte[BLOCK];
    put(header, 0, 100, name.getBytes(StandardCharsets.UTF_8));
    put(header, 100, 8, octal(executable ? 0755 : 0644, 7));
    put(header, 108, 8, octal(0, 7));
    put(header, 116, 8, octal(0, 7));
    put(header, 124, 12, octal(size, 11));
    put(header, 136, 12, octal(System.currentTimeMillis() / 1000, 11));
    header[156] = (byte) type;
    put(header, 257, 6, "ustar\0".getBytes(StandardCharsets.US_ASCII));
    put(header, 263, 2, "00".getBytes(StandardCharsets.US_ASCII));
    for (int i = 148; i < 156; i++) header[i] = ' ';
    long sum = 0;
    for (byte b : header) sum += b & 0xff;
    put(header, 148, 8, (String.format("%06o", sum) + "\0 ").getBytes(StandardCharsets.US_ASCII));
    return header;
  }

  private static byte[] octal(long value, int digits) {
    return (String.format("%0" + digits + "o", value) + "\0").getBytes(StandardCharsets.US_ASCII);
  }

  private static void put(byte[] header, int offset, int length, byte[] value) {
    System.arraycopy(value, 0, header, offset, Math.min(length, value.length));
  }
}
