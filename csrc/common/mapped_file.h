// A whole file as read-only memory: mapped where the OS allows (no copy, pages shared with the
// page cache), read into a buffer otherwise (pipes, exotic file systems).
#pragma once
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>

#include "common/buffer.h"
#include "common/file_error.h"

namespace pfn {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw FileError("cannot open", path);
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      size_ = static_cast<size_t>(st.st_size);
      if (size_ == 0) {
        ::close(fd);
        return;
      }
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) {
        ::madvise(p, size_, MADV_WILLNEED);
        ::close(fd);
        map_ = static_cast<const char*>(p);
        return;
      }
    }
    // Not mappable: read it.
    std::string s;
    char buf[1 << 16];
    ssize_t got;
    while ((got = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(got));
    const bool failed = got < 0;
    ::close(fd);
    if (failed) throw FileError("error reading", path);
    copy_ = std::move(s);
    size_ = copy_.size();
  }
  ~MappedFile() {
    if (map_) ::munmap(const_cast<char*>(map_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view view() const { return map_ ? std::string_view(map_, size_) : std::string_view(copy_); }

 private:
  const char* map_ = nullptr;
  size_t size_ = 0;
  std::string copy_;
};

}  // namespace pfn
