//! The intermediate representation every wire format converts to and from.

mod answer;
mod request;

pub use answer::{Event, Finish, FinishReason, Response, Usage};
pub use request::{
    Image, ImageSource, Message, Part, Reasoning, Request, ResponseFormat, Role, Text, Thinking,
    Tool, ToolCall, ToolChoice, ToolResult,
};
