//! [`Kind`]: what the guard looks for.

use std::fmt;

/// A kind of secret or personal data the guard finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// AWS access key id (`AKIA...`, `ASIA...`).
    AwsAccessKey,
    /// AWS secret access key, next to a name that says so.
    AwsSecretKey,
    /// Google API key (`AIza...`).
    GoogleApiKey,
    /// GCP service-account JSON (its `private_key_id`).
    GcpServiceAccount,
    /// PEM private key (RSA, EC, DSA, OpenSSH, PKCS#8, PGP).
    PrivateKey,
    /// JSON Web Token with a valid header.
    Jwt,
    /// GitHub token (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`).
    GithubToken,
    /// GitLab token (`glpat-` ...).
    GitlabToken,
    /// Slack token (`xoxb-`, `xoxp-` ...).
    SlackToken,
    /// Slack incoming-webhook URL.
    SlackWebhook,
    /// Stripe secret or restricted key.
    StripeKey,
    /// OpenAI API key (`sk-`, `sk-proj-`).
    OpenaiKey,
    /// Anthropic API key (`sk-ant-`).
    AnthropicKey,
    /// Twilio account or API key SID.
    TwilioKey,
    /// SendGrid API key (`SG.`).
    SendgridKey,
    /// npm access token (`npm_`).
    NpmToken,
    /// Hugging Face token (`hf_`).
    HuggingfaceToken,
    /// Azure storage account key (connection strings' `AccountKey=`).
    AzureStorageKey,
    /// The password in a database URL (`postgres://user:password@host`).
    DatabaseUrl,
    /// A high-entropy value next to a word like key, secret, token or password.
    GenericSecret,
    /// E-mail address.
    Email,
    /// Phone number (E.164 or a common national format).
    Phone,
    /// Payment card number (Luhn, known issuer prefix and length).
    CardNumber,
    /// US social security number.
    UsSsn,
    /// UK national insurance number.
    UkNino,
    /// Chinese resident identity card number (with its checksum).
    CnResidentId,
    /// International bank account number (mod-97).
    Iban,
}

impl Kind {
    /// Every kind, credentials first.
    pub const ALL: [Kind; 27] = [
        Kind::AwsAccessKey,
        Kind::AwsSecretKey,
        Kind::GoogleApiKey,
        Kind::GcpServiceAccount,
        Kind::PrivateKey,
        Kind::Jwt,
        Kind::GithubToken,
        Kind::GitlabToken,
        Kind::SlackToken,
        Kind::SlackWebhook,
        Kind::StripeKey,
        Kind::OpenaiKey,
        Kind::AnthropicKey,
        Kind::TwilioKey,
        Kind::SendgridKey,
        Kind::NpmToken,
        Kind::HuggingfaceToken,
        Kind::AzureStorageKey,
        Kind::DatabaseUrl,
        Kind::GenericSecret,
        Kind::Email,
        Kind::Phone,
        Kind::CardNumber,
        Kind::UsSsn,
        Kind::UkNino,
        Kind::CnResidentId,
        Kind::Iban,
    ];

    /// The stable name used in config, journals, metrics and `[REDACTED:<name>]`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AwsAccessKey => "aws_access_key",
            Kind::AwsSecretKey => "aws_secret_key",
            Kind::GoogleApiKey => "google_api_key",
            Kind::GcpServiceAccount => "gcp_service_account",
            Kind::PrivateKey => "private_key",
            Kind::Jwt => "jwt",
            Kind::GithubToken => "github_token",
            Kind::GitlabToken => "gitlab_token",
            Kind::SlackToken => "slack_token",
            Kind::SlackWebhook => "slack_webhook",
            Kind::StripeKey => "stripe_key",
            Kind::OpenaiKey => "openai_key",
            Kind::AnthropicKey => "anthropic_key",
            Kind::TwilioKey => "twilio_key",
            Kind::SendgridKey => "sendgrid_key",
            Kind::NpmToken => "npm_token",
            Kind::HuggingfaceToken => "huggingface_token",
            Kind::AzureStorageKey => "azure_storage_key",
            Kind::DatabaseUrl => "database_url",
            Kind::GenericSecret => "generic_secret",
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::CardNumber => "card_number",
            Kind::UsSsn => "us_ssn",
            Kind::UkNino => "uk_nino",
            Kind::CnResidentId => "cn_resident_id",
            Kind::Iban => "iban",
        }
    }

    /// The kind named `name` (the inverse of [`as_str`](Self::as_str)).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether this is personal data rather than a credential.
    pub fn is_pii(self) -> bool {
        matches!(
            self,
            Kind::Email
                | Kind::Phone
                | Kind::CardNumber
                | Kind::UsSsn
                | Kind::UkNino
                | Kind::CnResidentId
                | Kind::Iban
        )
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_name(k.as_str()), Some(k));
        }
        assert_eq!(Kind::from_name("nope"), None);
    }
}
