#include "log/redact.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "log/async_writer.h"
#include "log/log.h"

namespace qs::log {
namespace {

// libpq's own message for a connection string it refuses.
std::string LibpqParseError(const std::string& conninfo) {
  char* errmsg = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &errmsg);
  if (opts != nullptr) PQconninfoFree(opts);
  std::string out = errmsg != nullptr ? errmsg : "";
  if (errmsg != nullptr) PQfreemem(errmsg);
  return out;
}

TEST(IsLibpqUriTest, OnlyLibpqsTwoLowerCasePrefixesMakeAUri) {
  EXPECT_TRUE(IsLibpqUri("postgresql://h/db"));
  EXPECT_TRUE(IsLibpqUri("postgres://"));
  EXPECT_FALSE(IsLibpqUri("PostgreSQL://h/db"));
  EXPECT_FALSE(IsLibpqUri("postgresql:/h/db"));
  EXPECT_FALSE(IsLibpqUri("host=h dbname=postgresql://x"));
  EXPECT_FALSE(IsLibpqUri("redis://h"));
}

TEST(RedactUrlTest, HidesTheUserinfoPasswordOfALibpqUri) {
  EXPECT_EQ(RedactUrl("postgresql://u:secret@h:5432/db"),
            "postgresql://u:***@h:5432/db");
  EXPECT_EQ(RedactUrl("postgres://u:secret@h/db"), "postgres://u:***@h/db");
  EXPECT_EQ(RedactUrl("postgresql://:secret@h/db"), "postgresql://:***@h/db");
}

TEST(RedactUrlTest, KeepsAUserNameAloneAndAUriWithoutCredentials) {
  EXPECT_EQ(RedactUrl("postgresql://u@h/db"), "postgresql://u@h/db");
  EXPECT_EQ(RedactUrl("postgresql://h/db?sslmode=require"),
            "postgresql://h/db?sslmode=require");
  EXPECT_EQ(RedactUrl("postgresql:///db?host=/var/run/postgresql"),
            "postgresql:///db?host=/var/run/postgresql");
}

TEST(RedactUrlTest, HidesAPasswordQueryParameter) {
  EXPECT_EQ(RedactUrl("postgresql://u@h/db?password=secret"),
            "postgresql://u@h/db?password=***");
  EXPECT_EQ(
      RedactUrl("postgresql://u@h/db?sslmode=require&password=s&connect_"
                "timeout=3"),
      "postgresql://u@h/db?sslmode=require&password=***&connect_timeout=3");
}

TEST(RedactUrlTest, HidesEverySensitiveQueryParameter) {
  EXPECT_EQ(RedactUrl("postgresql://h/db?sslpassword=k&application_name=a"),
            "postgresql://h/db?sslpassword=***&application_name=a");
  EXPECT_EQ(RedactUrl("postgresql://h/db?PASSWORD=x"),
            "postgresql://h/db?PASSWORD=***");
}

TEST(RedactUrlTest, HidesAPercentEncodedKeyAndPassword) {
  EXPECT_EQ(RedactUrl("postgresql://h/db?pass%77ord=secret"),
            "postgresql://h/db?pass%77ord=***");
  EXPECT_EQ(RedactUrl("postgresql://u:s%40c%2Fret@h/db"),
            "postgresql://u:***@h/db");
}

TEST(RedactUrlTest, KeepsSeveralHosts) {
  EXPECT_EQ(RedactUrl("postgresql://u:pw@h1:5432,h2:5433/db?target_session_"
                      "attrs=read-write"),
            "postgresql://u:***@h1:5432,h2:5433/db?target_session_attrs=read-"
            "write");
}

TEST(RedactUrlTest, HidesAPasswordWithRawReservedCharactersWhole) {
  EXPECT_EQ(RedactUrl("postgresql://u:p@ss@h/db"), "postgresql://u:***@h/db");
  EXPECT_EQ(RedactUrl("postgresql://u:pa/ss@h/db"), "postgresql://u:***@h/db");
  EXPECT_EQ(RedactUrl("postgresql://u:pa?ss@h/db"), "postgresql://u:***@h/db");
}

TEST(RedactUrlTest, HidesAQueryItemThatIsNotKeyValue) {
  EXPECT_EQ(RedactUrl("postgresql://h/db?secretword"), "postgresql://h/db?***");
}

TEST(RedactUrlTest, HidesADatabaseNameThatIsAConnectionString) {
  EXPECT_EQ(RedactUrl("postgresql://h/host%3Dx%20password%3Dy"),
            "postgresql://h/***");
  EXPECT_EQ(RedactUrl("dbname='host=x password=y'"),
            "dbname='password=*** host=x'");
}

// Found by redact_url_fuzz: "dbname=dbname=dbname=..." nests a connection
// string in every dbname; reading each level quoted the one inside it
// again, doubling the text per level (30 levels: 1 GiB, 11 s). libpq
// expands one level only, so deeper ones are hidden whole.
TEST(RedactUrlTest, DeeplyNestedDbnameIsHiddenNotExpandedLevelByLevel) {
  std::string nested = "host=x";
  for (int i = 0; i < 40; ++i) nested = "dbname=" + nested;
  std::string redacted = RedactUrl(nested);
  EXPECT_LT(redacted.size(), 64u) << redacted.substr(0, 200);
  // A password two levels down is hidden too.
  EXPECT_EQ(
      RedactUrl(R"(dbname='dbname=\'host=x password=s3cret\'')").find("s3cret"),
      std::string::npos);
}

TEST(RedactUrlTest, RebuildsAConninfoStringWithThePasswordHidden) {
  EXPECT_EQ(RedactUrl("host=h port=5432 dbname=db user=u password=secret"),
            "user=u password=*** dbname=db host=h port=5432");
}

TEST(RedactUrlTest, ReadsQuotesAndEscapesOfAConninfoString) {
  EXPECT_EQ(RedactUrl("host=h password='se cret' application_name='a b'"),
            "password=*** host=h application_name='a b'");
  EXPECT_EQ(RedactUrl(R"(password='it\'s \\ here' host=h)"),
            "password=*** host=h");
  EXPECT_EQ(RedactUrl(R"(host=h password=a\ b)"), "password=*** host=h");
  EXPECT_EQ(RedactUrl("host = h  password = x"), "password=*** host=h");
}

TEST(RedactUrlTest, HidesSslPasswordOfAConninfoString) {
  EXPECT_EQ(RedactUrl("host=h sslpassword=k"), "host=h sslpassword=***");
}

TEST(RedactUrlTest, HidesAConninfoValueHoldingASchemeLikeText) {
  EXPECT_EQ(RedactUrl("host=h password=a://b"), "password=*** host=h");
}

TEST(RedactUrlTest, HidesWhatLibpqCannotParseWhole) {
  EXPECT_EQ(RedactUrl("host=h password='unterminated"), "***");
  EXPECT_EQ(RedactUrl("host=h password=se cret"), "***");
  EXPECT_EQ(RedactUrl("h:5432/db secret"), "***");
  EXPECT_EQ(RedactUrl("host=h pasword=typo"), "***");
}

TEST(RedactUrlTest, HidesTheUserinfoPasswordOfRedisUrls) {
  EXPECT_EQ(RedactUrl("redis://:pw@h:6379/0"), "redis://:***@h:6379/0");
  EXPECT_EQ(RedactUrl("redis://user:pw@h"), "redis://user:***@h");
  EXPECT_EQ(RedactUrl("rediss://user:pw@h:6380"), "rediss://user:***@h:6380");
  EXPECT_EQ(RedactUrl("redis-cluster://user:pw@h1:1,h2:2"),
            "redis-cluster://user:***@h1:1,h2:2");
  EXPECT_EQ(RedactUrl("redis://127.0.0.1:6379/0"), "redis://127.0.0.1:6379/0");
}

TEST(RedactUrlTest, HidesALoneRedisUserinfoAsAPassword) {
  EXPECT_EQ(RedactUrl("redis://pw@h:6379"), "redis://***@h:6379");
}

TEST(IsSafelyRedactableTest, AcceptsWhatLibpqReadsAsTheRedactionDoes) {
  EXPECT_TRUE(IsSafelyRedactable("postgresql://postgres@127.0.0.1:5432/qs"));
  EXPECT_TRUE(IsSafelyRedactable("postgresql://u:s%2Fc@h1:1,h2:2/db"));
  EXPECT_TRUE(
      IsSafelyRedactable("postgresql://u@h/db?password=x&sslmode="
                         "prefer"));
  EXPECT_TRUE(IsSafelyRedactable("host=h password='se cret' dbname=d"));
  EXPECT_TRUE(IsSafelyRedactable("dbname='host=x password=y'"));
}

TEST(IsSafelyRedactableTest, RefusesAPasswordLibpqWouldReadAsAPort) {
  // libpq stops the userinfo at the first '/': host "u", port "secret".
  EXPECT_FALSE(IsSafelyRedactable("postgresql://u:secret/x@h/db"));
}

TEST(IsSafelyRedactableTest, RefusesWhatLibpqCannotParse) {
  EXPECT_FALSE(IsSafelyRedactable("host=h password=se cret"));
  EXPECT_FALSE(IsSafelyRedactable("postgresql://h/db?passwrd=x"));
  EXPECT_FALSE(IsSafelyRedactable("redis://:pw@h"));
}

TEST(RedactSecretsTest, HidesThePasswordInAnyOfItsForms) {
  EXPECT_EQ(RedactSecrets("failed: s@cret and s%40cret",
                          "postgresql://u:s%40cret@h/db"),
            "failed: *** and ***");
  EXPECT_EQ(RedactSecrets("no se cret here", "host=h password='se cret'"),
            "no *** here");
}

TEST(RedactSecretsTest, HidesWhatLibpqQuotesOfAStringItRefuses) {
  std::string conninfo = "host=h password=se cret";
  std::string error = LibpqParseError(conninfo);
  ASSERT_NE(error.find("cret"), std::string::npos) << error;
  std::string redacted = RedactSecrets(error, conninfo);
  EXPECT_EQ(redacted.find("cret"), std::string::npos) << redacted;
}

TEST(RedactSecretsTest, LeavesATextWithoutSecretsAlone) {
  EXPECT_EQ(RedactSecrets("connection refused", "postgresql://u:pw@h/db"),
            "connection refused");
}

// A password no other text holds, in every form a connection string can
// carry it, must not survive any redaction.
TEST(RedactionTest, APlantedPasswordNeverAppears) {
  const std::string kPlanted = "Pl4ntedZq7xW";
  const std::string kEncoded = "Pl4nted%5Aq7xW";  // the same, 'Z' encoded
  const std::vector<std::string> forms = {
      "postgresql://u:" + kPlanted + "@h:5432/db",
      "postgres://u:" + kEncoded + "@h/db",
      "postgresql://:" + kPlanted + "@h1:5432,h2:5433/db",
      "postgresql://u@h/db?password=" + kPlanted,
      "postgresql://u@h/db?password=" + kEncoded,
      "postgresql://u@h/db?pass%77ord=" + kPlanted,
      "postgresql://u@h/db?sslpassword=" + kPlanted + "&sslmode=require",
      "postgresql://u:" + kPlanted + "/x@h/db",
      "postgresql://u:a@" + kPlanted + "@h/db",
      "postgresql://u@h/db?" + kPlanted,
      "host=h password=" + kPlanted,
      "host=h password='" + kPlanted + " x'",
      "host=h password='x " + kPlanted + "'",
      "host=h password='" + kPlanted,
      "host=h password=x " + kPlanted,
      R"(host=h password='it\'s )" + kPlanted + "'",
      "host=h sslpassword=" + kPlanted,
      "dbname='host=x password=" + kPlanted + "'",
      "redis://:" + kPlanted + "@h:6379/0",
      "redis://user:" + kPlanted + "@h",
      "redis://" + kPlanted + "@h",
      "redis-cluster://user:" + kPlanted + "@h1:1,h2:2",
      kPlanted,
  };

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  {
    ScopedWriterForTesting scoped(
        std::make_unique<AsyncWriter>(AsyncWriter::Options{fds[1], 1 << 20}));
    for (const std::string& url : forms) {
      std::string shown = RedactUrl(url);
      EXPECT_EQ(shown.find("Pl4nted"), std::string::npos)
          << url << " -> " << shown;
      // What libpq says of it, and a message that quotes it whole.
      for (const std::string& text :
           {LibpqParseError(url), "could not use \"" + url + "\""}) {
        std::string scrubbed = RedactSecrets(text, url);
        EXPECT_EQ(scrubbed.find("Pl4nted"), std::string::npos)
            << url << ": " << text << " -> " << scrubbed;
      }
      Event(Level::kError, "started",
            {{"database", shown}, {"error", RedactSecrets(url, url)}});
    }
    ASSERT_TRUE(Flush());
  }
  close(fds[1]);
  std::string logged;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
    logged.append(buf, n);
  close(fds[0]);
  EXPECT_EQ(std::count(logged.begin(), logged.end(), '\n'),
            static_cast<long>(forms.size()));
  EXPECT_EQ(logged.find("Pl4nted"), std::string::npos) << logged;
}

}  // namespace
}  // namespace qs::log
