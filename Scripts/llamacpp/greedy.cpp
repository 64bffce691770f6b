// llama-greedy: continues a prompt greedily with stock llama.cpp (libllama), for Shears' cross-checks.
//
// Usage: llama-greedy MODEL.gguf N_TOKENS PROMPT
//
// Prints the prompt, then each generated piece's exact bytes (a NUL included), straight to stdout,
// and nothing else there; diagnostics go to stderr. It stops after N_TOKENS or at an
// end-of-generation token (printed as nothing, as llama-completion does without --special).
// Settings that make the continuation a function of the weights alone: greedy (first maximum
// logit), one thread, an F32 KV cache, no flash attention, the model's training context.
// llama-completion prints through llama.cpp's log thread, which it never joins, so under load
// its output can be lost at exit; this tool writes with stdio on the main thread.
#include "llama.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

static void quiet(enum ggml_log_level level, const char * text, void *) {
    if (level >= GGML_LOG_LEVEL_WARN) {
        fputs(text, stderr);
    }
}

int main(int argc, char ** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.gguf N_TOKENS PROMPT\n", argv[0]);
        return 2;
    }
    const char * path = argv[1];
    char * end = nullptr;
    const long count = strtol(argv[2], &end, 10);
    if (*argv[2] == '\0' || *end != '\0' || count < 0) {
        fprintf(stderr, "llama-greedy: N_TOKENS '%s' must be a whole number >= 0\n", argv[2]);
        return 2;
    }
    const std::string prompt = argv[3];

    llama_log_set(quiet, nullptr);
    ggml_backend_load_all();
    llama_model_params model_params = llama_model_default_params();
    model_params.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(path, model_params);
    if (model == nullptr) {
        fprintf(stderr, "llama-greedy: cannot load %s\n", path);
        return 1;
    }
    const llama_vocab * vocab = llama_model_get_vocab(model);

    // Special tokens in the prompt are parsed, and BOS added when the vocabulary asks for it, as
    // llama-completion tokenizes a prompt.
    const int needed = -llama_tokenize(vocab, prompt.c_str(), (int) prompt.size(), nullptr, 0, true, true);
    std::vector<llama_token> tokens(needed);
    if (needed <= 0 ||
        llama_tokenize(vocab, prompt.c_str(), (int) prompt.size(), tokens.data(), needed, true, true) != needed) {
        fprintf(stderr, "llama-greedy: cannot tokenize the prompt\n");
        return 1;
    }

    llama_context_params context_params = llama_context_default_params();
    context_params.n_ctx = 0;
    context_params.n_threads = 1;
    context_params.n_threads_batch = 1;
    context_params.type_k = GGML_TYPE_F32;
    context_params.type_v = GGML_TYPE_F32;
    context_params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    context_params.no_perf = true;
    llama_context * context = llama_init_from_model(model, context_params);
    if (context == nullptr) {
        fprintf(stderr, "llama-greedy: cannot create a context for %s\n", path);
        return 1;
    }
    if (tokens.size() + (size_t) count > llama_n_ctx(context)) {
        fprintf(stderr, "llama-greedy: %zu prompt tokens plus %ld new ones exceed the context of %u\n",
                tokens.size(), count, llama_n_ctx(context));
        return 1;
    }

    fwrite(prompt.data(), 1, prompt.size(), stdout);
    const int vocabulary = llama_vocab_n_tokens(vocab);
    llama_batch batch = llama_batch_get_one(tokens.data(), (int32_t) tokens.size());
    llama_token next = 0;
    for (long generated = 0; generated < count; generated++) {
        if (llama_decode(context, batch) != 0) {
            fprintf(stderr, "llama-greedy: decoding failed after %ld tokens\n", generated);
            return 1;
        }
        const float * logits = llama_get_logits_ith(context, -1);
        next = 0;
        for (llama_token token = 1; token < vocabulary; token++) {
            if (logits[token] > logits[next]) {
                next = token;
            }
        }
        if (llama_vocab_is_eog(vocab, next)) {
            break;
        }
        char piece[256];
        const int length = llama_token_to_piece(vocab, next, piece, sizeof piece, 0, false);
        if (length < 0) {
            fprintf(stderr, "llama-greedy: token %d does not fit a piece of %zu bytes\n", next, sizeof piece);
            return 1;
        }
        fwrite(piece, 1, (size_t) length, stdout);
        batch = llama_batch_get_one(&next, 1);
    }
    fflush(stdout);

    llama_free(context);
    llama_model_free(model);
    return ferror(stdout) ? 1 : 0;
}
