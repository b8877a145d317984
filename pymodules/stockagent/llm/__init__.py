"""Language models the agent talks to, and the sentence embeddings of the semantic cache.

- :mod:`.chat`: the small :class:`~.chat.ChatModel` protocol the agent graph calls, its three
  implementations (in-process llama.cpp, any OpenAI-compatible server, a scripted fake for tests)
  and the choice between them from the settings.
- :mod:`.embeddings`: the packaged all-MiniLM-L6-v2, loaded once, as normalized vectors.
"""

from .chat import (
    ChatModel,
    LlamaCppChat,
    OpenAIChat,
    ScriptedChat,
    Usage,
    packaged_gguf,
    select,
    status,
    strip_think,
)

__all__ = [
    "ChatModel",
    "LlamaCppChat",
    "OpenAIChat",
    "ScriptedChat",
    "Usage",
    "packaged_gguf",
    "select",
    "status",
    "strip_think",
]
