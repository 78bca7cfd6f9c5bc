package dev.offload.api;

import static akka.http.javadsl.server.Directives.*;

import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntity;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.MediaTypes;
import akka.http.javadsl.model.StatusCode;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.Route;
import akka.util.ByteString;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.offload.ClientError;
import java.util.function.Function;
import java.util.stream.Collectors;

/** JSON in and out of the API: strict on what it reads, plain camelCase on what it writes. */
final class Json {

  /** Unknown fields, numbers as strings, fractions as integers: each a 400, never guessed. */
  static final ObjectMapper STRICT =
      JsonMapper.builder()
          .addModule(new JavaTimeModule())
          .addModule(new Jdk8Module())
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .serializationInclusion(JsonInclude.Include.ALWAYS)
          .addModule(new com.fasterxml.jackson.databind.module.SimpleModule().addDeserializer(String.class, new StrictStrings()))
          .build();

  /** A string field takes a JSON string only: {@code 1} or {@code true} is the wrong type, not "1". */
  private static final class StrictStrings extends com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer<String> {
    StrictStrings() {
      super(String.class);
    }

    @Override
    public String deserialize(com.fasterxml.jackson.core.JsonParser p, com.fasterxml.jackson.databind.DeserializationContext ctxt)
        throws java.io.IOException {
      if (p.hasToken(com.fasterxml.jackson.core.JsonToken.VALUE_STRING)) return p.getText();
      return (String) ctxt.handleUnexpectedToken(String.class, p);
    }
  }

  private Json() {}

  static HttpResponse response(StatusCode status, Object body) {
    return HttpResponse.create().withStatus(status).withEntity(entity(body));
  }

  static HttpEntity.Strict entity(Object body) {
    try {
      return akka.http.javadsl.model.HttpEntities.create(ContentTypes.APPLICATION_JSON, STRICT.writeValueAsBytes(body));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("response cannot be encoded", e);
    }
  }

  static Route ok(Object body) {
    return complete(response(StatusCodes.OK, body));
  }

  /** The largest request body, and how long it may take to arrive. */
  record BodyLimit(long bytes, long timeoutMillis) {}

  /**
   * Reads a JSON body within {@code limit} into {@code type}. With {@code optional}, an empty
   * body stands for {@code {}}.
   */
  static <T> Route body(Class<T> type, boolean optional, BodyLimit limit, Function<T, Route> inner) {
    long maxBytes = limit.bytes();
    return withSizeLimit(maxBytes, () -> extractMaterializer(mat -> extractRequestEntity(entity -> {
      if (entity.isKnownEmpty() && optional) return inner.apply(parse(ByteString.emptyByteString(), type));
      if (!entity.getContentType().mediaType().equals(MediaTypes.APPLICATION_JSON)) {
        throw new ClientError(ClientError.Code.UNSUPPORTED_MEDIA_TYPE,
            "send the request body as application/json (got " + entity.getContentType() + ")");
      }
      if (entity.getContentLengthOption().orElse(0L) > maxBytes) {
        throw new ClientError(ClientError.Code.PAYLOAD_TOO_LARGE,
            "the request body is larger than the limit of " + maxBytes + " bytes");
      }
      var strict = entity.toStrict(limit.timeoutMillis(), maxBytes, mat).exceptionally(failure -> {
        Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
            ? failure.getCause() : failure;
        if (cause instanceof java.util.concurrent.TimeoutException) {
          // A client that trickles its body is not the database failing: no 503 for it.
          throw new ClientError(ClientError.Code.INVALID_ARGUMENT, "the request body did not arrive within "
              + limit.timeoutMillis() / 1000.0 + " s; send the whole body at once");
        }
        throw failure instanceof RuntimeException r ? r : new java.util.concurrent.CompletionException(failure);
      });
      return onSuccess(strict, body -> inner.apply(parse(body.getData(), type)));
    })));
  }

  static <T> T parse(ByteString bytes, Class<T> type) {
    if (bytes.isEmpty()) bytes = ByteString.fromString("{}");
    try {
      T value = STRICT.readValue(bytes.toArray(), type);
      if (value == null) throw new ClientError(ClientError.Code.INVALID_ARGUMENT, "the request body must be a JSON object");
      return value;
    } catch (UnrecognizedPropertyException e) {
      throw ClientError.invalid(e.getPropertyName(),
          "unknown field '" + e.getPropertyName() + "'; known fields are " + e.getKnownPropertyIds());
    } catch (MismatchedInputException e) {
      String field = path(e);
      if (field.isEmpty()) {
        throw new ClientError(ClientError.Code.INVALID_ARGUMENT, "the request body must be a JSON object");
      }
      throw ClientError.invalid(field, field + " has the wrong type: expected " + expected(e));
    } catch (JsonMappingException e) {
      String field = path(e);
      if (e.getCause() instanceof JsonProcessingException syntax
          && !(syntax instanceof JsonMappingException)) {
        // A syntax error met while reading a field's value: still a body that is not JSON.
        throw ClientError.invalid(field.isEmpty() ? null : field,
            "the request body is not valid JSON" + (field.isEmpty() ? "" : " (in " + field + ")") + ": "
                + firstLine(syntax.getOriginalMessage()));
      }
      throw ClientError.invalid(field.isEmpty() ? null : field,
          (field.isEmpty() ? "the request body" : field) + " is not valid: " + e.getOriginalMessage());
    } catch (java.io.IOException e) {
      throw new ClientError(ClientError.Code.INVALID_ARGUMENT,
          "the request body is not valid JSON: " + firstLine(e.getMessage()));
    }
  }

  private static String path(JsonMappingException e) {
    return e.getPath().stream()
        .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
        .collect(Collectors.joining("."));
  }

  private static String expected(MismatchedInputException e) {
    Class<?> t = e.getTargetType();
    if (t == null) return "another type";
    if (t == Integer.class || t == int.class || t == Long.class || t == long.class) return "an integer";
    if (t == Boolean.class || t == boolean.class) return "true or false";
    if (t == String.class) return "a string";
    if (java.util.Map.class.isAssignableFrom(t)) return "an object of strings";
    if (java.util.Collection.class.isAssignableFrom(t)) return "an array";
    return "a " + t.getSimpleName();
  }

  private static String firstLine(String message) {
    if (message == null) return "";
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }
}
