//! Which API a client speaks, derived from the request path.

/// A wire-protocol family: decides the shape of error bodies and stream events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// OpenAI's API (`/v1/chat/completions`, `/v1/responses`, ...), spoken by most clients.
    OpenAi,
    /// Anthropic's Messages API (`/v1/messages`).
    Anthropic,
}

impl Protocol {
    /// A short stable name, for logs, headers and journals.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::OpenAi => "openai",
            Protocol::Anthropic => "anthropic",
        }
    }
}

/// One endpoint of the gateway's client-facing API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /v1/chat/completions`
    ChatCompletions,
    /// `POST /v1/completions` (legacy text completions)
    Completions,
    /// `POST /v1/embeddings`
    Embeddings,
    /// `GET /v1/models`
    Models,
    /// `POST /v1/responses`
    Responses,
    /// `POST /v1/messages`
    Messages,
    /// `POST /v1/messages/count_tokens`
    CountTokens,
}

impl Endpoint {
    /// Every endpoint, in a stable order.
    pub const ALL: [Endpoint; 7] = [
        Endpoint::ChatCompletions,
        Endpoint::Completions,
        Endpoint::Embeddings,
        Endpoint::Models,
        Endpoint::Responses,
        Endpoint::Messages,
        Endpoint::CountTokens,
    ];

    /// Recognises a request path, with or without the `/v1` prefix and a trailing slash.
    pub fn from_path(path: &str) -> Option<Endpoint> {
        let path = path.strip_suffix('/').unwrap_or(path);
        let path = path.strip_prefix("/v1").unwrap_or(path);
        Some(match path {
            "/chat/completions" => Endpoint::ChatCompletions,
            "/completions" => Endpoint::Completions,
            "/embeddings" => Endpoint::Embeddings,
            "/models" => Endpoint::Models,
            "/responses" => Endpoint::Responses,
            "/messages" => Endpoint::Messages,
            "/messages/count_tokens" => Endpoint::CountTokens,
            _ => return None,
        })
    }

    /// The canonical path, as served by the default binary.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "/v1/chat/completions",
            Endpoint::Completions => "/v1/completions",
            Endpoint::Embeddings => "/v1/embeddings",
            Endpoint::Models => "/v1/models",
            Endpoint::Responses => "/v1/responses",
            Endpoint::Messages => "/v1/messages",
            Endpoint::CountTokens => "/v1/messages/count_tokens",
        }
    }

    /// The path below the API root (`/chat/completions`), to append to a provider's base URL.
    pub fn suffix(self) -> &'static str {
        &self.path()[3..]
    }

    /// The protocol family of the endpoint.
    pub fn protocol(self) -> Protocol {
        match self {
            Endpoint::Messages | Endpoint::CountTokens => Protocol::Anthropic,
            _ => Protocol::OpenAi,
        }
    }

    /// The HTTP method the endpoint accepts.
    pub fn method(self) -> http::Method {
        match self {
            Endpoint::Models => http::Method::GET,
            _ => http::Method::POST,
        }
    }

    /// Whether requests carry a JSON body that names a model.
    pub fn has_body(self) -> bool {
        !matches!(self, Endpoint::Models)
    }

    /// A short stable name, for logs, metrics and journals.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "chat_completions",
            Endpoint::Completions => "completions",
            Endpoint::Embeddings => "embeddings",
            Endpoint::Models => "models",
            Endpoint::Responses => "responses",
            Endpoint::Messages => "messages",
            Endpoint::CountTokens => "count_tokens",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        for e in Endpoint::ALL {
            assert_eq!(Endpoint::from_path(e.path()), Some(e));
            assert_eq!(Endpoint::from_path(e.suffix()), Some(e));
            assert_eq!(Endpoint::from_path(&format!("{}/", e.path())), Some(e));
        }
        assert_eq!(Endpoint::from_path("/v1/chat"), None);
        assert_eq!(Endpoint::from_path("/v2/chat/completions"), None);
        assert_eq!(Endpoint::ChatCompletions.suffix(), "/chat/completions");
        assert_eq!(Endpoint::Messages.protocol(), Protocol::Anthropic);
    }
}
