//! Google Gemini `generateContent` (in progress).
