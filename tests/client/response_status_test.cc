#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "client/api_client.h"

namespace edl::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

HttpResponse ErrorResponse(long status, std::string_view code, std::string_view message) {
  HttpResponse response;
  response.status = status;
  response.request_id = "header-id";
  response.body = std::string(R"({"error":{"code":")") + std::string(code) + R"(","message":")" +
                  std::string(message) + R"(","details":{"request_id":"req-42"}}})";
  return response;
}

TEST(StatusFromResponse, SuccessIsOk) {
  for (long status : {200L, 201L, 202L, 204L}) {
    HttpResponse response;
    response.status = status;
    EXPECT_TRUE(StatusFromResponse(response).ok()) << status;
  }
}

TEST(StatusFromResponse, BadRequestIsInvalidArgumentWithServerMessageAndRequestId) {
  Status s = StatusFromResponse(ErrorResponse(400, "invalid_argument", "limit must be 1-1000"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "limit must be 1-1000 (request id req-42)");
}

TEST(StatusFromResponse, UnauthorizedSaysHowToGetAToken) {
  Status s = StatusFromResponse(ErrorResponse(401, "unauthenticated", "bad token"), "EDL_TOKEN");
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("the server refused the token from EDL_TOKEN"));
  EXPECT_THAT(s.message(), HasSubstr("unknown, expired or revoked"));
  EXPECT_THAT(s.message(), HasSubstr("`edl tokens create USER`"));
  EXPECT_THAT(s.message(), HasSubstr("--token/EDL_TOKEN"));
}

TEST(StatusFromResponse, ForbiddenIsPermissionDeniedWithServerMessage) {
  Status s = StatusFromResponse(ErrorResponse(403, "permission_denied", "user:bob may not write dataset 'sales'"));
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "user:bob may not write dataset 'sales' (request id req-42)");
}

TEST(StatusFromResponse, NotFound) {
  Status s = StatusFromResponse(ErrorResponse(404, "not_found", "dataset 'sales' does not exist"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("dataset 'sales' does not exist"));
}

TEST(StatusFromResponse, ConflictAndAlreadyExistsShareStatus409) {
  EXPECT_EQ(StatusFromResponse(ErrorResponse(409, "conflict", "job 3 has finished")).code(), StatusCode::kConflict);
  EXPECT_EQ(StatusFromResponse(ErrorResponse(409, "already_exists", "user 'bob' exists")).code(),
            StatusCode::kAlreadyExists);
}

TEST(StatusFromResponse, PayloadTooLargeNamesTheLimits) {
  Status s = StatusFromResponse(ErrorResponse(413, "payload_too_large", "body over 1048576 bytes"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("body over 1048576 bytes"));
  EXPECT_THAT(s.message(), HasSubstr("max_upload_bytes"));
}

TEST(StatusFromResponse, UnavailableAndGatewayErrorsAreUnavailable) {
  for (long status : {429L, 502L, 503L, 504L}) {
    Status s = StatusFromResponse(ErrorResponse(status, "unavailable", "catalog locked"));
    EXPECT_EQ(s.code(), StatusCode::kUnavailable) << status;
    EXPECT_THAT(s.message(), HasSubstr("catalog locked"));
    EXPECT_THAT(s.message(), HasSubstr("try again later"));
  }
}

TEST(StatusFromResponse, ServerFailureIsInternalWithRequestId) {
  Status s = StatusFromResponse(ErrorResponse(500, "internal", "disk on fire"));
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("the server failed: disk on fire"));
  EXPECT_THAT(s.message(), HasSubstr("(request id req-42)"));
  EXPECT_THAT(s.message(), HasSubstr("report it"));
}

TEST(StatusFromResponse, UnexpectedClientErrorIsInternal) {
  Status s = StatusFromResponse(ErrorResponse(405, "invalid_argument", "method not allowed"));
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("same version"));
}

TEST(StatusFromResponse, RedirectAsksForTheRightUrl) {
  HttpResponse response;
  response.status = 308;
  response.location = "https://edl.example/v1/datasets";
  Status s = StatusFromResponse(response);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("redirect to 'https://edl.example/v1/datasets'"));
  EXPECT_THAT(s.message(), HasSubstr("--url"));
}

TEST(StatusFromResponse, BodyThatIsNotTheErrorShapeShowsStatusAndStart) {
  HttpResponse response;
  response.status = 502;
  response.request_id = "proxy-7";
  response.body = "<html>\n<h1>Bad Gateway</h1></html>";
  Status s = StatusFromResponse(response);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("HTTP 502: <html> <h1>Bad Gateway</h1>"));
  EXPECT_THAT(s.message(), HasSubstr("(request id proxy-7)"));  // from the header
}

TEST(StatusFromResponse, EmptyBodyShowsTheStatus) {
  HttpResponse response;
  response.status = 404;
  EXPECT_EQ(StatusFromResponse(response).message(), "HTTP 404");
}

TEST(UnreachableStatus, SaysHowToPointAtTheServer) {
  Status s = UnreachableStatus("http://127.0.0.1:9", "Connection refused");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(),
            "cannot reach the EDL server at http://127.0.0.1:9: Connection refused; is `edl serve` running? set --url "
            "or EDL_URL");
}

TEST(QueryString, SkipsEmptyValuesAndEscapes) {
  EXPECT_EQ(QueryString({}), "");
  EXPECT_EQ(QueryString({{"tier", ""}, {"q", ""}}), "");
  EXPECT_EQ(QueryString({{"tier", "restricted"}, {"owner", ""}, {"q", "a b&c=d/é"}}),
            "?tier=restricted&q=a%20b%26c%3Dd%2F%C3%A9");
}

TEST(EscapeComponent, KeepsUnreservedCharacters) {
  EXPECT_EQ(EscapeComponent("sales-orders_2026.csv~"), "sales-orders_2026.csv~");
  EXPECT_EQ(EscapeComponent("a/../b"), "a%2F..%2Fb");
}

TEST(JsonBody, NonJsonNamesTheRequestId) {
  HttpResponse response;
  response.status = 200;
  response.request_id = "r1";
  response.body = "not json";
  Result<nlohmann::json> body = JsonBody(response);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), StatusCode::kInternal);
  EXPECT_THAT(body.status().message(), HasSubstr("request id r1"));
}

}  // namespace
}  // namespace edl::client
