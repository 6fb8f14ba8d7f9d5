/* A C consumer of the installed library:
 *   consumer_c PACK SAFETENSORS TENSOR
 * opens PACK, lists its tensors, and checks TENSOR's bytes in the mapping
 * against the same tensor in the safetensors file. Exit 0 when they match. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mlxpack/mlxpack.h>

/* The whole file in a malloc'ed buffer; NULL on failure. */
static char* read_all(const char* path, long* size) {
  FILE* f = fopen(path, "rb");
  if (f == NULL) return NULL;
  char* buf = NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (*size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
    buf = malloc((size_t)*size);
    if (buf != NULL && fread(buf, 1, (size_t)*size, f) != (size_t)*size) {
      free(buf);
      buf = NULL;
    }
  }
  fclose(f);
  return buf;
}

/* TENSOR's byte range in a safetensors file, found in its JSON header the
 * simple way (enough for a test: the name is unique and quoted). */
static int find_range(const char* file, long size, const char* name, uint64_t* begin, uint64_t* end) {
  if (size < 8) return 0;
  uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = header << 8 | (unsigned char)file[i];
  if (header > (uint64_t)size - 8) return 0;
  char* json = malloc(header + 1);
  memcpy(json, file + 8, header);
  json[header] = '\0';
  char key[512];
  snprintf(key, sizeof key, "\"%s\"", name);
  const char* at = strstr(json, key);
  const char* offsets = at ? strstr(at, "\"data_offsets\"") : NULL;
  int ok = offsets && sscanf(strchr(offsets, '['), "[%" SCNu64 ",%" SCNu64 "]", begin, end) == 2;
  free(json);
  *begin += 8 + header;
  *end += 8 + header;
  return ok && *end <= (uint64_t)size;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: consumer_c PACK SAFETENSORS TENSOR\n");
    return 2;
  }
  printf("mlxpack %s (header %s)\n", mlxpack_version(), MLXPACK_VERSION_STRING);
  mlxpack_reader* reader = NULL;
  if (mlxpack_open(argv[1], MLXPACK_VERIFY_LAZY, &reader) != MLXPACK_OK) {
    fprintf(stderr, "open: %s\n", mlxpack_last_error());
    return 1;
  }
  uint64_t tensors = 0;
  for (uint64_t i = 0; i < mlxpack_entry_count(reader); ++i) {
    mlxpack_entry_type type;
    const char* name = NULL;
    if (mlxpack_entry(reader, i, &type, &name) != MLXPACK_OK) return 1;
    if (type != MLXPACK_ENTRY_TENSOR) continue;
    mlxpack_tensor t;
    if (mlxpack_tensor_get(reader, name, &t) != MLXPACK_OK) return 1;
    printf("%s %s %" PRIu64 " bytes\n", t.name, mlxpack_dtype_name(t.dtype), t.size_bytes);
    ++tensors;
  }
  mlxpack_tensor t;
  if (mlxpack_tensor_get(reader, argv[3], &t) != MLXPACK_OK) {
    fprintf(stderr, "tensor: %s\n", mlxpack_last_error());
    return 1;
  }
  long size = 0;
  char* file = read_all(argv[2], &size);
  uint64_t begin = 0, end = 0;
  int same = file != NULL && find_range(file, size, argv[3], &begin, &end) && end - begin == t.size_bytes &&
             memcmp(file + begin, t.data, t.size_bytes) == 0;
  free(file);
  mlxpack_close(reader);
  printf("%" PRIu64 " tensors; %s: %s\n", tensors, argv[3], same ? "same bytes" : "DIFFERENT");
  return same ? 0 : 1;
}
