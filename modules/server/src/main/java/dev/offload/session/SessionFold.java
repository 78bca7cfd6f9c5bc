package dev.offload.session;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * Something kept from the journal alongside the session index, in the same transaction as the
 * projection's offset: it sees each session's state after every event, exactly once.
 */
@FunctionalInterface
public interface SessionFold {
  void folded(Connection connection, SessionState after, long sequenceNr, SessionEvent event) throws SQLException;
}
